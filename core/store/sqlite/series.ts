import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { LOG_SCHEMA_V1, upgradeLog, type StoredRecords } from '../../bus/sqlite-log-store.js';
import type { BatchContext, Resolution, RollupPoint, RollupResolution, SeriesQuery, SeriesStats, SeriesStore } from '../../ports.js';
import { coarsen, ROLLUP_RESOLUTIONS, STEP_MS } from '../../retention/rollup.js';
import type { Reading } from '../../schemas.js';
import { WalCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from './checkpointer.js';
import { DEVICE_INDEX_FILE, DEVICE_INDEX_SCHEMA, DeviceIndexer } from './device-index.js';
import { migrateDatabase, type Migration } from './migrations.js';
import { openDatabase, PAGE_CACHE_KIB, WRITER_PAGE_CACHE_KIB } from './open.js';
import { PendingFold } from './pending-fold.js';

/**
 * Rows in arrival order (rowid), so a batch appends to the table's last pages whatever devices it
 * comes from; the unique key is ordered by time first, (ts, device, metric), so its inserts land
 * at the right edge of that index too. Keyed by device first (the earlier layouts), a batch from
 * a thousand devices rewrote about as many whole pages into the WAL on every commit. Queries by
 * device use the index by device a worker keeps beside it (device-index.ts).
 */
const READINGS = `
CREATE TABLE IF NOT EXISTS readings (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL,
  metric TEXT NOT NULL,
  ts INTEGER NOT NULL,
  value REAL NOT NULL,
  unit TEXT,
  lat REAL, lon REAL,
  zone_ids TEXT NOT NULL,
  subcenter_id TEXT,
  received_at INTEGER NOT NULL,
  ref TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS readings_time ON readings(ts, device_id, metric);
`;

const COLUMNS = 'device_id, metric, ts, value, unit, lat, lon, zone_ids, subcenter_id, received_at, ref';

/** Moves the rows of a data directory written with the first layout (WITHOUT ROWID) to the current one. */
function rowidLayout(db: Database.Database): void {
  const table = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'readings'").get();
  if (table && /WITHOUT ROWID/i.test(table.sql)) {
    db.exec('DROP INDEX IF EXISTS readings_ts; ALTER TABLE readings RENAME TO readings_v1;');
    db.exec(READINGS);
    db.exec(`INSERT OR IGNORE INTO readings (${COLUMNS}) SELECT ${COLUMNS} FROM readings_v1 ORDER BY received_at; DROP TABLE readings_v1;`);
  }
  db.exec(READINGS);
}

/**
 * A roll-up table per resolution (core/retention/rollup.ts), in the order steps are folded in
 * (rowid), with (device, metric, start) as its key.
 */
const rollupTable = (table: string): string => `
CREATE TABLE IF NOT EXISTS ${table} (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL,
  metric TEXT NOT NULL,
  start INTEGER NOT NULL,
  count INTEGER NOT NULL,
  min_value REAL NOT NULL,
  max_value REAL NOT NULL,
  sum_value REAL NOT NULL,
  last_value REAL NOT NULL,
  last_ts INTEGER NOT NULL,
  unit TEXT,
  lat REAL, lon REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS ${table}_key ON ${table}(device_id, metric, start);
CREATE INDEX IF NOT EXISTS ${table}_start ON ${table}(start);
`;

const ROLLUP_TABLES: Readonly<Record<RollupResolution, string>> = { '5m': 'readings_5m', '1h': 'readings_1h' };
const TABLES: Readonly<Record<Resolution, string>> = { raw: 'readings', ...ROLLUP_TABLES };

/** The readings database's layout, version by version (see migrations.ts). */
export const SERIES_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'readings in arrival order, unique by device, metric and time', up: rowidLayout },
  {
    version: 2,
    name: 'roll-ups per 5 minutes and per hour; how far readings are folded into them',
    up: (db) => {
      db.exec(rollupTable(ROLLUP_TABLES['5m']) + rollupTable(ROLLUP_TABLES['1h']));
      db.exec('CREATE TABLE IF NOT EXISTS series_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID');
    },
  },
  {
    version: 3,
    name: 'unique key by time first (the index by device moves to readings-by-device.db); the embedded bus\'s log',
    up: (db) => {
      db.exec('DROP INDEX IF EXISTS readings_key; DROP INDEX IF EXISTS readings_ts;');
      db.exec(READINGS);
      db.exec(LOG_SCHEMA_V1);
    },
  },
  { version: 4, name: "the embedded bus's log in rows of records appended together", up: upgradeLog },
];

/** Merges a step into the one already there (core/retention/rollup.ts combine()). */
const MERGE_STEP = (() => {
  const newer = (column: string): string => `${column} = CASE WHEN excluded.last_ts >= last_ts THEN excluded.${column} ELSE ${column} END`;
  return `ON CONFLICT (device_id, metric, start) DO UPDATE SET
    count = count + excluded.count,
    min_value = min(min_value, excluded.min_value),
    max_value = max(max_value, excluded.max_value),
    sum_value = sum_value + excluded.sum_value,
    ${newer('last_value')}, ${newer('unit')}, ${newer('lat')}, ${newer('lon')},
    last_ts = max(last_ts, excluded.last_ts)`;
})();

const ROLLUP_COLUMNS = 'device_id, metric, start, count, min_value, max_value, sum_value, last_value, last_ts, unit, lat, lon';

/**
 * Folds the readings with rowid in (?, ?] into one roll-up table: the
 * aggregates of core/retention/rollup.ts in SQL (the newest reading of a step gives `last`, its
 * unit and place), merged into a step already there.
 */
const foldSql = (resolution: RollupResolution): string => {
  const step = STEP_MS[resolution];
  const newest = (column: string): string => `max(CASE WHEN rn = 1 THEN ${column} END)`;
  return `INSERT INTO ${ROLLUP_TABLES[resolution]} (${ROLLUP_COLUMNS})
  SELECT device_id, metric, start, count(*), min(value), max(value), sum(value), ${newest('value')}, max(ts), ${newest('unit')}, ${newest('lat')}, ${newest('lon')}
  FROM (SELECT device_id, metric, ts - ts % ${step} AS start, ts, value, unit, lat, lon,
          row_number() OVER (PARTITION BY device_id, metric, ts - ts % ${step} ORDER BY ts DESC) AS rn
        FROM readings WHERE id > ? AND id <= ?)
  WHERE true
  GROUP BY device_id, metric, start
  ${MERGE_STEP}`;
};

/** Merges one step folded in memory (PendingFold) into a roll-up table. */
const mergeSql = (resolution: RollupResolution): string =>
  `INSERT INTO ${ROLLUP_TABLES[resolution]} (${ROLLUP_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ${MERGE_STEP}`;

/** Readings a write stored, with their rowids. */
interface Stored {
  ids: number[];
  readings: Reading[];
}

interface RollupRow {
  device_id: string;
  metric: string;
  start: number;
  count: number;
  min_value: number;
  max_value: number;
  sum_value: number;
  last_value: number;
  last_ts: number;
  unit: string | null;
  lat: number | null;
  lon: number | null;
}

interface ReadingRow {
  id: number;
  device_id: string;
  metric: string;
  ts: number;
  value: number;
  unit: string | null;
  lat: number | null;
  lon: number | null;
  zone_ids: string;
  subcenter_id: string | null;
  received_at: number;
  ref: string;
}

/**
 * The embedded time-series store: one SQLite table unique on (device, metric, ts), so a
 * redelivered reading is stored once (the first write wins, as a duplicate carries the same
 * measurement), and a roll-up table per resolution. Readings are folded into the roll-ups in
 * arrival order (a cursor on their rowid), so a late reading is folded once whenever it comes.
 * They are folded in memory as they are written (PendingFold), and read back from the table only
 * when that is not known to hold all of them (after a restart, or past its bound).
 */
export class SqliteSeriesStore implements SeriesStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly insert;
  private readonly writeTx;
  private readonly foldTx;
  /** What was stored since the fold mark, folded in memory. */
  private readonly pending: PendingFold;
  /** The rowid of the newest reading (0: none). */
  private readonly newestId: () => number;
  /** The newest reading when the running fold began (beginRollUp): its steps stop there. */
  private foldUntil: number | undefined;
  private readonly checkpointer: WalCheckpointer;
  private readonly indexer: DeviceIndexer;
  /** The oldest reading when the index by device was last pruned (this process). */
  private indexPrunedBefore: number | undefined;
  /** The readings the last write stored, by the rowid each got, until its commit. */
  private justStored: Map<Reading, number> | undefined;
  /**
   * The readings as the embedded bus's log keeps what ingest publishes on `sw.readings` in the
   * commit that stores them: their rowids here (see core/bus/sqlite-log-store.ts).
   */
  readonly storedReadings: StoredRecords;

  /** `onError` hears of checkpoints that failed in the background (the store keeps working). */
  constructor(dataDir: string, onError: (message: string) => void = () => undefined) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, SERIES_DATABASE);
    this.db = openDatabase(this.file, WRITER_PAGE_CACHE_KIB);
    migrateDatabase(this.db, SERIES_DATABASE, SERIES_MIGRATIONS);
    // Readings are the bulk of what is written: their checkpoints run off the event loop.
    this.db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
    this.checkpointer = new WalCheckpointer(this.file, onError);
    const indexFile = path.join(dataDir, DEVICE_INDEX_FILE);
    this.db.prepare('ATTACH DATABASE ? AS idx').run(indexFile);
    this.db.pragma('idx.journal_mode = WAL');
    this.db.pragma('idx.synchronous = NORMAL');
    this.db.pragma(`idx.cache_size = ${-PAGE_CACHE_KIB}`);
    this.db.exec(DEVICE_INDEX_SCHEMA);
    this.indexer = new DeviceIndexer(this.file, indexFile, onError);
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO readings (${COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
    );
    // The rowids of the readings stored (a duplicate is not), for the fold in memory and the log.
    this.writeTx = this.db.transaction((readings: readonly Reading[]): Stored => {
      const stored: Stored = { ids: [], readings: [] };
      const byReading = new Map<Reading, number>();
      for (const r of readings) {
        const info = this.insert.run(r.deviceId, r.metric, r.ts, r.value, r.unit ?? null, r.loc?.lat ?? null, r.loc?.lon ?? null, r.zoneIds.join(','), r.subcenterId ?? null, r.receivedAt, r.ref);
        if (info.changes === 0) continue;
        const id = Number(info.lastInsertRowid);
        stored.ids.push(id);
        stored.readings.push(r);
        byReading.set(r, id);
      }
      this.justStored = byReading;
      return stored;
    });
    const byIds = this.db.prepare<[string], ReadingRow>('SELECT r.* FROM json_each(?) AS j JOIN readings AS r ON r.id = j.value');
    this.storedReadings = {
      idOf: (value) => this.justStored?.get(value as Reading),
      load: (ids) => {
        const found = new Map<number, Reading>();
        for (const row of byIds.iterate(JSON.stringify(ids))) found.set(row.id, toReading(row));
        return ids.map((id) => found.get(id));
      },
      estimateBytes: (value) => estimateReadingBytes(value as Reading),
    };
    const folds = ROLLUP_RESOLUTIONS.map((res) => this.db.prepare(foldSql(res)));
    const merges = ROLLUP_RESOLUTIONS.map((res) => [res, this.db.prepare(mergeSql(res))] as const);
    const newest = this.db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM readings');
    this.pending = new PendingFold(this.mark(FOLDED));
    this.newestId = () => newest.get()?.id ?? 0;
    this.foldTx = this.db.transaction((maxReadings: number): number => {
      const folded = this.mark(FOLDED);
      const last = this.newestId();
      if (last <= folded || (this.foldUntil !== undefined && folded >= this.foldUntil)) return 0;
      // Every reading since the mark is folded in memory already: its steps are merged whatever
      // their number (about one per busy series), in one transaction with the new mark.
      const steps = this.pending.complete(folded, last);
      if (steps) {
        for (const [res, merge] of merges) {
          for (const p of res === '5m' ? steps : coarsen(steps, res)) {
            merge.run(p.deviceId, p.metric, p.start, p.count, p.min, p.max, p.sum, p.last, p.lastTs, p.unit ?? null, p.loc?.lat ?? null, p.loc?.lon ?? null);
          }
        }
        this.setMark(FOLDED, last);
        return last - folded;
      }
      // Else read back from the table, at most maxReadings of them.
      const until = Math.min(last, folded + maxReadings);
      for (const fold of folds) fold.run(folded, until);
      this.setMark(FOLDED, until);
      return until - folded;
    });
  }

  private mark(key: string): number {
    return this.db.prepare<[string], { value: number }>('SELECT value FROM series_meta WHERE key = ?').get(key)?.value ?? 0;
  }

  private setMark(key: string, value: number): void {
    this.db.prepare('INSERT INTO series_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** The connection: the embedded bus keeps its log in the same database (see write). */
  get database(): Database.Database {
    return this.db;
  }

  async write(readings: readonly Reading[], batch?: BatchContext): Promise<void> {
    if (readings.length === 0) return;
    // In the transaction that commits the bus batch when the log shares this database: the
    // readings, what the batch publishes and its consumer position are then stored together.
    let stored: Stored | undefined;
    const write = (): void => void (stored = this.writeTx(readings));
    if (batch?.joinCommit(this.db, write)) {
      batch.afterCommit(() => {
        this.justStored = undefined;
        this.pending.add(stored!.ids, stored!.readings);
      });
      return;
    }
    write();
    this.justStored = undefined;
    this.pending.add(stored!.ids, stored!.readings);
  }

  async query(q: SeriesQuery): Promise<Reading[]> {
    const limit = q.limit ?? 100_000;
    const metric = q.metric === undefined ? '' : 'AND metric = @metric';
    const params = { from: q.from, to: q.to, device: q.deviceId ?? null, metric: q.metric ?? null, limit };
    if (q.deviceId === undefined) {
      return this.db
        .prepare<[typeof params], ReadingRow>(`SELECT * FROM readings WHERE ts >= @from AND ts < @to ${metric} ORDER BY ts, device_id, metric LIMIT @limit`)
        .all(params)
        .map(toReading);
    }
    // One device: its indexed readings, and those stored since the worker's last pass.
    return this.db
      .prepare<[typeof params], ReadingRow>(
        `SELECT r.* FROM idx.by_device d JOIN readings r ON r.id = d.id
          WHERE d.device_id = @device ${metric.replace('metric', 'd.metric')} AND d.ts >= @from AND d.ts < @to
         UNION ALL
         SELECT * FROM readings
          WHERE id > coalesce((SELECT upto FROM idx.indexed WHERE k = 0), 0) AND device_id = @device ${metric} AND ts >= @from AND ts < @to
         ORDER BY ts, device_id, metric LIMIT @limit`,
      )
      .all(params)
      .map(toReading);
  }

  async queryRollups(resolution: RollupResolution, q: SeriesQuery): Promise<RollupPoint[]> {
    const { where, params } = filters(q, 'start');
    return this.db
      .prepare<unknown[], RollupRow>(`SELECT * FROM ${ROLLUP_TABLES[resolution]} WHERE ${where} ORDER BY start, device_id, metric LIMIT ?`)
      .all(...params, q.limit ?? 100_000)
      .map(toRollup);
  }

  beginRollUp(): void {
    this.foldUntil = this.newestId();
  }

  async rollUp(_now: number, maxReadings: number): Promise<number> {
    const n = this.foldTx.immediate(maxReadings);
    // Committed: what is held from here on is what came after the new mark.
    if (n > 0) this.pending.reset(this.mark(FOLDED));
    return n;
  }

  async prune(resolution: Resolution, before: number, maxRows: number): Promise<number> {
    if (resolution === 'raw') {
      // Only readings already folded into the roll-ups; and never the newest row, so rowids (the
      // fold cursor) keep growing even if every reading is old.
      const keep = Math.min(this.mark(FOLDED), (this.db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM readings').get()?.id ?? 0) - 1);
      const n = this.db.prepare('DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE ts < ? AND id <= ? LIMIT ?)').run(before, keep, maxRows).changes;
      if (n === 0) await this.pruneDeviceIndex();
      return n;
    }
    const table = ROLLUP_TABLES[resolution];
    return this.db.prepare(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE start < ? LIMIT ?)`).run(before, maxRows).changes;
  }

  /**
   * Once the readings are pruned, their entries in the index by device: those older than the
   * oldest reading left, at most once per INDEX_PRUNE_STEP_MS that the oldest reading moved on
   * (the worker walks every series).
   */
  private async pruneDeviceIndex(): Promise<void> {
    const oldest = this.db.prepare<[], { ts: number | null }>('SELECT min(ts) AS ts FROM readings').get()?.ts ?? null;
    if (oldest === null || (this.indexPrunedBefore !== undefined && oldest - this.indexPrunedBefore < INDEX_PRUNE_STEP_MS)) return;
    this.indexPrunedBefore = oldest;
    await this.indexer.prune(oldest);
  }

  async stats(): Promise<SeriesStats> {
    const rows = {} as SeriesStats['rows'];
    const oldest = {} as SeriesStats['oldest'];
    for (const [res, table] of Object.entries(TABLES) as [Resolution, string][]) {
      const time = res === 'raw' ? 'ts' : 'start';
      const r = this.db.prepare<[], { n: number | null; t: number | null }>(statsSql(table, time)).get();
      rows[res] = r?.n ?? 0;
      oldest[res] = r?.t ?? null;
    }
    return { rows, oldest, files: databaseFiles(this.file) };
  }

  async close(): Promise<void> {
    await this.indexer.close();
    await this.checkpointer.close();
    if (this.db.open) this.db.close();
  }
}

/**
 * A table's rows and its oldest time, from the ends of its indexes. Rows are appended in rowid
 * order and deleted oldest first: the span of rowids counts them (a little high while late steps
 * sit between pruned ones). Each end is a subquery of its own: `max(id) - min(id)` in one query
 * is not a lookup but a scan of the whole table, which grows for the raw retention (a month of a
 * fleet's readings) and was read once a minute by the storage figures, and by every readings query.
 */
export const statsSql = (table: string, time: string): string =>
  `SELECT (SELECT max(id) FROM ${table}) - (SELECT min(id) FROM ${table}) + 1 AS n, (SELECT min(${time}) FROM ${table}) AS t`;

/** The readings database's file name in the data directory. */
export const SERIES_DATABASE = 'readings.db';
/** The index by device is pruned each time the oldest reading moved on by this much: an hour of a fleet's readings. */
const INDEX_PRUNE_STEP_MS = 3_600_000;
/** series_meta: the rowid up to which readings are folded into the roll-ups. */
const FOLDED = 'folded_id';

function filters(q: SeriesQuery, time: string): { where: string; params: unknown[] } {
  const where = [`${time} >= ?`, `${time} < ?`];
  const params: unknown[] = [q.from, q.to];
  if (q.deviceId !== undefined) {
    where.push('device_id = ?');
    params.push(q.deviceId);
  }
  if (q.metric !== undefined) {
    where.push('metric = ?');
    params.push(q.metric);
  }
  return { where: where.join(' AND '), params };
}

/** A database file and its write-ahead log, as they take space on disk. */
export function databaseFiles(file: string): { name: string; bytes: number }[] {
  return [file, `${file}-wal`].flatMap((f) => {
    try {
      return [{ name: path.basename(f), bytes: fs.statSync(f).size }];
    } catch {
      return [];
    }
  });
}

function toRollup(r: RollupRow): RollupPoint {
  const p: RollupPoint = { deviceId: r.device_id, metric: r.metric, start: r.start, count: r.count, min: r.min_value, max: r.max_value, sum: r.sum_value, last: r.last_value, lastTs: r.last_ts };
  if (r.unit !== null) p.unit = r.unit;
  if (r.lat !== null && r.lon !== null) p.loc = { lat: r.lat, lon: r.lon };
  return p;
}

/** About the length of a reading as JSON, without encoding it (what it counts toward the log's bound). */
function estimateReadingBytes(r: Reading): number {
  let n = 120 + r.deviceId.length + r.metric.length + r.ref.length + 16 * r.zoneIds.length;
  if (r.unit !== undefined) n += 10 + r.unit.length;
  if (r.loc !== undefined) n += 48;
  if (r.subcenterId !== undefined) n += 16 + r.subcenterId.length;
  return n;
}

function toReading(r: ReadingRow): Reading {
  const reading: Reading = {
    deviceId: r.device_id,
    metric: r.metric,
    value: r.value,
    ts: r.ts,
    receivedAt: r.received_at,
    zoneIds: r.zone_ids ? r.zone_ids.split(',') : [],
    ref: r.ref,
  };
  if (r.unit !== null) reading.unit = r.unit;
  if (r.lat !== null && r.lon !== null) reading.loc = { lat: r.lat, lon: r.lon };
  if (r.subcenter_id !== null) reading.subcenterId = r.subcenter_id;
  return reading;
}
