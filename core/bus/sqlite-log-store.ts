/**
 * The tables of the embedded log and the statements on them; no policy (core/bus/sqlite-log.ts
 * decides what to append, read, commit and prune, and when).
 *
 * One table per topic, `bus_sw_raw` ...: `seq` is the record's offset, the table's rowid, so an
 * append lands on the B-tree's last page and pruning takes a prefix. Values are JSON, except a
 * raw publish's payload bytes, which keep a column of their own (binary, up to the payload limit:
 * base64 inside JSON would cost a third more and a copy each way).
 */
import type Database from 'better-sqlite3';
import { BUS_TOPICS, type BusRecord, type BusTopic, type ParkedFilter, type ParkedRecord } from '../ports.js';
import type { RawPublish } from '../schemas.js';

/** A record as the log stores it, and what it counts toward the log's bound in bytes. */
export interface EncodedRecord {
  key: string;
  value: string;
  payload: Buffer | null;
  bytes: number;
}

interface RecordRow {
  seq: number;
  key: string;
  value: string;
  payload: Buffer | null;
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

/** Framing a stored record costs beyond its key and value: the row header, seq and time. */
const ROW_OVERHEAD_BYTES = 24;

export function tableOf(topic: BusTopic): string {
  return `bus_${topic.replace('.', '_')}`;
}

export function encodeRecord(topic: BusTopic, record: BusRecord<unknown>): EncodedRecord {
  let value: string;
  let payload: Buffer | null = null;
  if (topic === 'sw.raw') {
    const { payload: bytes, ...rest } = record.value as RawPublish;
    value = JSON.stringify(rest);
    payload = bytes;
  } else {
    value = JSON.stringify(record.value);
  }
  return { key: record.key, value, payload, bytes: record.key.length + value.length + (payload?.length ?? 0) + ROW_OVERHEAD_BYTES };
}

export function decodeValue(topic: BusTopic, value: string, payload: Buffer | null): unknown {
  const parsed = JSON.parse(value) as Record<string, unknown>;
  if (topic === 'sw.raw') parsed.payload = payload ?? Buffer.alloc(0);
  return parsed;
}

/**
 * The log's tables. In the readings' database (the embedded mode) they are a step of its schema
 * versions too (core/store/sqlite/series.ts); a change to them is a new step there.
 */
export const LOG_SCHEMA = `
${BUS_TOPICS.map((t) => `CREATE TABLE IF NOT EXISTS ${tableOf(t)} (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL, payload BLOB, appended_at INTEGER NOT NULL);`).join('\n')}
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

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface TopicStatements {
  append: Stmt<[number, string, string, Buffer | null, number]>;
  read: Stmt<[number, number, number], RecordRow>;
  first: Stmt<[], { seq: number | null }>;
  last: Stmt<[], { seq: number | null }>;
  prune: Stmt<[number]>;
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

  constructor(readonly db: Database.Database) {
    db.exec(LOG_SCHEMA);
    for (const t of BUS_TOPICS) {
      const table = tableOf(t);
      this.topics.set(t, {
        append: db.prepare(`INSERT INTO ${table} (seq, key, value, payload, appended_at) VALUES (?, ?, ?, ?, ?)`),
        read: db.prepare(`SELECT seq, key, value, payload FROM ${table} WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?`),
        first: db.prepare(`SELECT min(seq) AS seq FROM ${table}`),
        last: db.prepare(`SELECT max(seq) AS seq FROM ${table}`),
        prune: db.prepare(`DELETE FROM ${table} WHERE seq < ?`),
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

  append(topic: BusTopic, seq: number, r: EncodedRecord, at: number): void {
    this.stmts(topic).append.run(seq, r.key, r.value, r.payload, at);
  }

  /** Records with seq in [from, to), oldest first, at most `limit`. */
  read(topic: BusTopic, from: number, to: number, limit: number): { seq: number; record: BusRecord<unknown>; bytes: number }[] {
    return this.stmts(topic)
      .read.all(from, to, limit)
      .map((row) => ({
        seq: row.seq,
        record: { key: row.key, value: decodeValue(topic, row.value, row.payload) },
        bytes: row.key.length + row.value.length + (row.payload?.length ?? 0) + ROW_OVERHEAD_BYTES,
      }));
  }

  /** The oldest seq held, or undefined when the topic's table is empty. */
  first(topic: BusTopic): number | undefined {
    return this.stmts(topic).first.get()?.seq ?? undefined;
  }

  last(topic: BusTopic): number | undefined {
    return this.stmts(topic).last.get()?.seq ?? undefined;
  }

  /** Deletes the records with seq below `below` (a prefix: seqs are appended in order); returns how many. */
  prune(topic: BusTopic, below: number): number {
    return this.stmts(topic).prune.run(below).changes;
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
