/**
 * The tables of the embedded log and the statements on them; no policy (core/bus/sqlite-log.ts
 * decides what to append, read, commit and prune, and when).
 *
 * One table per topic, `bus_sw_raw` ...; a row holds records appended together (the plain
 * publishes of one turn, or what one consumer batch published), as Kafka stores a record batch:
 * `seq` is the offset of its first record, the table's rowid, and `n` how many follow it, so an
 * append lands on the B-tree's last page, one insert for hundreds of records, and pruning takes a
 * prefix of rows. Keys and values are JSON arrays; a raw publish's payload bytes are kept end to
 * end in a column of their own (binary, up to the payload limit each: base64 inside JSON would
 * cost a third more and a copy each way), with their sizes.
 *
 * A record that a store sharing the database wrote in the same transaction (the readings ingest
 * publishes on `sw.readings`: a transactional outbox) is kept as the row id it was stored under,
 * a number in the values array, instead of a second copy of its JSON; reading the log back loads
 * it from that store (StoredRecords).
 */
import type Database from 'better-sqlite3';
import { BUS_TOPICS, type BusRecord, type BusTopic, type ParkedFilter, type ParkedRecord } from '../ports.js';
import type { RawPublish } from '../schemas.js';

/**
 * Where the records of a topic are stored besides the log, in the same database and transaction:
 * the log keeps their row ids. Only a value `idOf` answers for is kept so; any other record of the
 * topic is kept whole.
 */
export interface StoredRecords {
  /** The row id `value` was stored under by a write of the transaction being committed, if it was. */
  idOf(value: unknown): number | undefined;
  /** The values stored under `ids`, in their order; undefined for a row that is gone (retention, a deleted device). */
  load(ids: readonly number[]): (unknown | undefined)[];
  /** About the length of `value` as JSON: what it counts toward the log's bound in bytes. */
  estimateBytes(value: unknown): number;
}

/** One record as the parked table stores it. */
export interface EncodedRecord {
  key: string;
  value: string;
  payload: Buffer | null;
}

/** Records appended together as the log stores them, and what they count toward its bound in bytes. */
export interface EncodedRecords {
  count: number;
  /** JSON arrays of the keys and of the values (a raw publish's without its payload). */
  keys: string;
  values: string;
  /** sw.raw: each record's payload bytes, in order. */
  payloads: Buffer[] | null;
  bytes: number;
}

interface RowOfRecords {
  seq: number;
  n: number;
  keys_json: string;
  values_json: string;
  payloads: Buffer | null;
  payload_sizes: string | null;
}

interface GroupRow {
  grp: string;
  position: number;
  seen_at: number;
}

interface ParkedRow {
  id: string;
  topic: BusTopic;
  grp: string;
  seq: number;
  key: string;
  value: string;
  payload: Buffer | null;
  code: string;
  message: string;
  attempts: number;
  parked_at: number;
  replayed_at: number | null;
}

/** What a record counts toward the bound beyond its key, value and payload: its share of a row and its entry in memory. */
export const RECORD_OVERHEAD_BYTES = 24;
/** A row takes the appends of a turn until it holds this many records ... */
export const ROW_MAX_RECORDS = 1_000;
/** ... or this many bytes (an append larger than either is a row of its own). */
export const ROW_MAX_BYTES = 1024 * 1024;

export function tableOf(topic: BusTopic): string {
  return `bus_${topic.replace('.', '_')}`;
}

/** A record on its own, for the parked table. */
export function encodeRecord(topic: BusTopic, record: BusRecord<unknown>): EncodedRecord {
  if (topic !== 'sw.raw') return { key: record.key, value: JSON.stringify(record.value), payload: null };
  const { payload, ...rest } = record.value as RawPublish;
  return { key: record.key, value: JSON.stringify(rest), payload };
}

/**
 * Records published together: two JSON arrays (one stringify each) and, for sw.raw, the payloads
 * as they are. With `stored`, a value stored in this transaction is its row id in the array.
 */
export function encodeRecords(topic: BusTopic, records: readonly BusRecord<unknown>[], stored?: StoredRecords): EncodedRecords {
  const keys = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) keys[i] = records[i]!.key;
  let values: string;
  let payloads: Buffer[] | null = null;
  let payloadBytes = 0;
  if (topic === 'sw.raw') {
    payloads = new Array<Buffer>(records.length);
    const rest = new Array<Omit<RawPublish, 'payload'>>(records.length);
    for (let i = 0; i < records.length; i++) {
      const { payload, ...fields } = records[i]!.value as RawPublish;
      payloads[i] = payload;
      payloadBytes += payload.length;
      rest[i] = fields;
    }
    values = JSON.stringify(rest);
  } else {
    const vs = new Array<unknown>(records.length);
    for (let i = 0; i < records.length; i++) {
      const value = records[i]!.value;
      vs[i] = stored?.idOf(value) ?? value;
    }
    values = JSON.stringify(vs);
  }
  const keysJson = JSON.stringify(keys);
  return { count: records.length, keys: keysJson, values, payloads, bytes: keysJson.length + values.length + payloadBytes + records.length * RECORD_OVERHEAD_BYTES };
}

export function decodeValue(topic: BusTopic, value: string, payload: Buffer | null): unknown {
  const parsed = JSON.parse(value) as Record<string, unknown>;
  if (topic === 'sw.raw') parsed.payload = payload ?? Buffer.alloc(0);
  return parsed;
}

/** JSON arrays joined into one: `[a]` and `[b,c]` make `[a,b,c]` (none is empty). */
function joinArrays(arrays: readonly string[]): string {
  if (arrays.length === 1) return arrays[0]!;
  return `[${arrays.map((a) => a.slice(1, -1)).join(',')}]`;
}

const LOG_TABLE = (table: string): string =>
  `CREATE TABLE IF NOT EXISTS ${table} (seq INTEGER PRIMARY KEY, n INTEGER NOT NULL, keys_json TEXT NOT NULL, values_json TEXT NOT NULL, payloads BLOB, payload_sizes TEXT, appended_at INTEGER NOT NULL);`;

const GROUPS_AND_PARKED = `
-- Each consumer group's committed position on a topic: the seq of the next record it takes.
CREATE TABLE IF NOT EXISTS bus_groups (
  topic TEXT NOT NULL,
  grp TEXT NOT NULL,
  position INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (topic, grp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_parked (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  grp TEXT NOT NULL,
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  payload BLOB,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  parked_at INTEGER NOT NULL,
  replayed_at INTEGER
);
CREATE INDEX IF NOT EXISTS bus_parked_at ON bus_parked(parked_at);
`;

/**
 * The log's first layout, a row per record: step 3 of the readings database's versions
 * (core/store/sqlite/series.ts), which a released database may be at. Never edited.
 */
export const LOG_SCHEMA_V1 = `
${BUS_TOPICS.map((t) => `CREATE TABLE IF NOT EXISTS ${tableOf(t)} (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL, payload BLOB, appended_at INTEGER NOT NULL);`).join('\n')}
${GROUPS_AND_PARKED}`;

/**
 * Brings the log's tables to rows of records appended together: creates what is missing and
 * turns each record of a table in the first layout into a row of one, in place. In the readings'
 * database (the embedded mode) it is a step of its versions too (core/store/sqlite/series.ts); a
 * later change to the tables is a new step there. Idempotent.
 */
export function upgradeLog(db: Database.Database): void {
  for (const topic of BUS_TOPICS) {
    const table = tableOf(topic);
    const columns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all();
    if (columns.some((c) => c.name === 'key')) {
      db.exec(`ALTER TABLE ${table} RENAME TO ${table}_v1;
${LOG_TABLE(table)}
INSERT INTO ${table} (seq, n, keys_json, values_json, payloads, payload_sizes, appended_at)
  SELECT seq, 1, json_array(key), '[' || value || ']', payload, CASE WHEN payload IS NULL THEN NULL ELSE json_array(length(payload)) END, appended_at
  FROM ${table}_v1 ORDER BY seq;
DROP TABLE ${table}_v1;`);
    } else {
      db.exec(LOG_TABLE(table));
    }
  }
  db.exec(GROUPS_AND_PARKED);
}

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface TopicStatements {
  append: Stmt<[number, number, string, string, Buffer | null, string | null, number]>;
  /** The row that holds a seq (the last one starting at or before it). */
  rowOf: Stmt<[number], { seq: number }>;
  read: Stmt<[number, number], RowOfRecords>;
  first: Stmt<[], { seq: number | null }>;
  last: Stmt<[], { seq: number }>;
  prune: Stmt<[number, number]>;
}

export class LogStore {
  private readonly topics = new Map<BusTopic, TopicStatements>();
  private readonly setPositionStmt: Stmt<[string, string, number, number]>;
  private readonly groupsStmt: Stmt<[string], GroupRow>;
  private readonly groupStmt: Stmt<[string, string], GroupRow>;
  private readonly dropGroupsStmt: Stmt<[number]>;
  private readonly parkStmt: Stmt<[string, string, string, number, string, string, Buffer | null, string, string, number, number]>;
  private readonly parkedStmt: Stmt<[string], ParkedRow>;
  private readonly replayedStmt: Stmt<[number, string]>;
  private readonly pruneParkedStmt: Stmt<[number]>;
  private readonly capParkedStmt: Stmt<[number]>;

  constructor(
    readonly db: Database.Database,
    private readonly stored: Partial<Record<BusTopic, StoredRecords>> = {},
  ) {
    db.transaction(() => upgradeLog(db)).immediate();
    for (const t of BUS_TOPICS) {
      const table = tableOf(t);
      this.topics.set(t, {
        append: db.prepare(`INSERT INTO ${table} (seq, n, keys_json, values_json, payloads, payload_sizes, appended_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
        rowOf: db.prepare(`SELECT seq FROM ${table} WHERE seq <= ? ORDER BY seq DESC LIMIT 1`),
        read: db.prepare(`SELECT seq, n, keys_json, values_json, payloads, payload_sizes FROM ${table} WHERE seq >= ? AND seq < ? ORDER BY seq`),
        first: db.prepare(`SELECT min(seq) AS seq FROM ${table}`),
        last: db.prepare(`SELECT seq + n - 1 AS seq FROM ${table} ORDER BY seq DESC LIMIT 1`),
        prune: db.prepare(`DELETE FROM ${table} WHERE seq < ? AND seq + n <= ?`),
      });
    }
    this.setPositionStmt = db.prepare(
      'INSERT INTO bus_groups (topic, grp, position, seen_at) VALUES (?, ?, ?, ?) ON CONFLICT (topic, grp) DO UPDATE SET position = excluded.position, seen_at = excluded.seen_at',
    );
    this.groupsStmt = db.prepare('SELECT grp, position, seen_at FROM bus_groups WHERE topic = ?');
    this.groupStmt = db.prepare('SELECT grp, position, seen_at FROM bus_groups WHERE topic = ? AND grp = ?');
    this.dropGroupsStmt = db.prepare('DELETE FROM bus_groups WHERE seen_at < ?');
    this.parkStmt = db.prepare(
      'INSERT OR REPLACE INTO bus_parked (id, topic, grp, seq, key, value, payload, code, message, attempts, parked_at, replayed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)',
    );
    this.parkedStmt = db.prepare('SELECT * FROM bus_parked WHERE id = ?');
    this.replayedStmt = db.prepare('UPDATE bus_parked SET replayed_at = ? WHERE id = ?');
    this.pruneParkedStmt = db.prepare('DELETE FROM bus_parked WHERE parked_at < ?');
    this.capParkedStmt = db.prepare('DELETE FROM bus_parked WHERE id IN (SELECT id FROM bus_parked ORDER BY parked_at DESC, id DESC LIMIT -1 OFFSET ?)');
  }

  private stmts(topic: BusTopic): TopicStatements {
    return this.topics.get(topic)!;
  }

  /** One row of the records `parts` hold, in order, the first of them at `seq`. */
  append(topic: BusTopic, seq: number, parts: readonly EncodedRecords[], at: number): void {
    let count = 0;
    let payloads: Buffer[] | null = null;
    for (const p of parts) {
      count += p.count;
      if (p.payloads) (payloads ??= []).push(...p.payloads);
    }
    this.stmts(topic).append.run(
      seq,
      count,
      joinArrays(parts.map((p) => p.keys)),
      joinArrays(parts.map((p) => p.values)),
      payloads && Buffer.concat(payloads),
      payloads && JSON.stringify(payloads.map((b) => b.length)),
      at,
    );
  }

  /**
   * Records with seq in [from, to), oldest first, at most `limit`. A record kept as a row id whose
   * row is gone is left out: `missing` counts those before the last record returned, or all of
   * them up to `to` when none is returned (then the caller moves on to `to`).
   */
  read(topic: BusTopic, from: number, to: number, limit: number): { entries: { seq: number; record: BusRecord<unknown>; bytes: number }[]; missing: number } {
    const stmts = this.stmts(topic);
    const out: { seq: number; record: BusRecord<unknown>; bytes: number }[] = [];
    let missing = 0;
    let gone = 0;
    if (limit <= 0 || from >= to) return { entries: out, missing };
    const start = stmts.rowOf.get(from)?.seq ?? from;
    for (const row of stmts.read.iterate(start, to)) {
      const keys = JSON.parse(row.keys_json) as string[];
      const values = this.resolve(topic, JSON.parse(row.values_json) as unknown[]);
      const sizes = row.payload_sizes === null ? null : (JSON.parse(row.payload_sizes) as number[]);
      const bytes = Math.ceil((row.keys_json.length + row.values_json.length + (row.payloads?.length ?? 0)) / row.n) + RECORD_OVERHEAD_BYTES;
      let offset = 0;
      for (let i = 0; i < row.n; i++) {
        const seq = row.seq + i;
        const size = sizes?.[i] ?? 0;
        if (seq >= from && seq < to) {
          const value = values[i] as Record<string, unknown> | undefined;
          if (value === undefined) {
            gone++;
          } else {
            // Its own bytes: a view would keep the whole row's payloads alive.
            if (topic === 'sw.raw') value.payload = row.payloads ? Buffer.from(row.payloads.subarray(offset, offset + size)) : Buffer.alloc(0);
            out.push({ seq, record: { key: keys[i]!, value }, bytes });
            missing += gone;
            gone = 0;
            if (out.length === limit) return { entries: out, missing };
          }
        }
        offset += size;
      }
    }
    return { entries: out, missing: out.length === 0 ? gone : missing };
  }

  /** A row's values with each row id replaced by the record stored under it (undefined if gone). */
  private resolve(topic: BusTopic, values: unknown[]): unknown[] {
    const ids: number[] = [];
    for (const v of values) if (typeof v === 'number') ids.push(v);
    if (ids.length === 0) return values;
    const stored = this.stored[topic];
    if (!stored) throw new Error(`the log of ${topic} holds row ids, and no store to read them from was given`);
    const loaded = stored.load(ids);
    let k = 0;
    return values.map((v) => (typeof v === 'number' ? loaded[k++] : v));
  }

  /** The oldest seq held, or undefined when the topic's table is empty. */
  first(topic: BusTopic): number | undefined {
    return this.stmts(topic).first.get()?.seq ?? undefined;
  }

  last(topic: BusTopic): number | undefined {
    return this.stmts(topic).last.get()?.seq;
  }

  /** Deletes the rows whose records all have seq below `below` (a prefix: seqs are appended in order); returns how many rows. */
  prune(topic: BusTopic, below: number): number {
    return this.stmts(topic).prune.run(below, below).changes;
  }

  setPosition(topic: BusTopic, group: string, position: number, at: number): void {
    this.setPositionStmt.run(topic, group, position, at);
  }

  groups(topic: BusTopic): { group: string; position: number; seenAt: number }[] {
    return this.groupsStmt.all(topic).map((g) => ({ group: g.grp, position: g.position, seenAt: g.seen_at }));
  }

  group(topic: BusTopic, group: string): { position: number; seenAt: number } | undefined {
    const g = this.groupStmt.get(topic, group);
    return g && { position: g.position, seenAt: g.seen_at };
  }

  /** Forgets groups not seen since `before`; returns how many. */
  dropGroupsSeenBefore(before: number): number {
    return this.dropGroupsStmt.run(before).changes;
  }

  park(p: { id: string; topic: BusTopic; group: string; seq: number; record: EncodedRecord; code: string; message: string; attempts: number; at: number }): void {
    this.parkStmt.run(p.id, p.topic, p.group, p.seq, p.record.key, p.record.value, p.record.payload, p.code, p.message, p.attempts, p.at);
  }

  parked(id: string): ParkedRecord | undefined {
    const row = this.parkedStmt.get(id);
    return row && toParked(row);
  }

  /** The parked record's topic and record as stored, to publish it again. */
  parkedRecord(id: string): { topic: BusTopic; record: BusRecord<unknown> } | undefined {
    const row = this.parkedStmt.get(id);
    return row && { topic: row.topic, record: { key: row.key, value: decodeValue(row.topic, row.value, row.payload) } };
  }

  listParked(filter: ParkedFilter, maxLimit: number): ParkedRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.topic !== undefined) {
      where.push('topic = ?');
      params.push(filter.topic);
    }
    if (filter.group !== undefined) {
      where.push('grp = ?');
      params.push(filter.group);
    }
    params.push(Math.min(filter.limit ?? maxLimit, maxLimit));
    return this.db
      .prepare<unknown[], ParkedRow>(`SELECT * FROM bus_parked ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY parked_at DESC, id DESC LIMIT ?`)
      .all(...params)
      .map(toParked);
  }

  markReplayed(id: string, at: number): void {
    this.replayedStmt.run(at, id);
  }

  /** Deletes parked records older than `before`, then all but the newest `keep`; returns how many went. */
  pruneParked(before: number, keep: number): number {
    return this.pruneParkedStmt.run(before).changes + this.capParkedStmt.run(keep).changes;
  }
}

function toParked(row: ParkedRow): ParkedRecord {
  return {
    id: row.id,
    topic: row.topic,
    group: row.grp,
    key: row.key,
    value: decodeValue(row.topic, row.value, row.payload),
    cause: { code: row.code, message: row.message },
    attempts: row.attempts,
    parkedAt: row.parked_at,
    replayedAt: row.replayed_at,
  };
}
