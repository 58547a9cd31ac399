import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { BatchContext, SeriesQuery, SeriesStore } from '../../ports.js';
import type { Reading } from '../../schemas.js';
import { WalCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from './checkpointer.js';
import { DEVICE_INDEX_FILE, DEVICE_INDEX_SCHEMA, DeviceIndexer } from './device-index.js';
import { openDatabase } from './open.js';

/**
 * Rows in arrival order (rowid), so a batch appends to the table's last pages whatever devices it
 * comes from; the unique key is ordered by time first, (ts, device, metric), so its inserts land
 * at the right edge of that index too. Keyed by device first (the earlier layouts), a batch from
 * a thousand devices rewrote about as many whole pages into the WAL on every commit. Queries by
 * device use the index by device a worker keeps beside it (device-index.ts).
 */
const SCHEMA = `
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

/**
 * Moves a data directory written with an earlier layout to the current one: the first kept rows
 * WITHOUT ROWID keyed by device; the second had the unique key by device and an index by time.
 */
function migrate(db: Database.Database): void {
  const table = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'readings'").get();
  if (!table) return;
  db.transaction(() => {
    if (/WITHOUT ROWID/i.test(table.sql)) {
      db.exec('DROP INDEX IF EXISTS readings_ts; ALTER TABLE readings RENAME TO readings_v1;');
      db.exec(SCHEMA);
      db.exec(`INSERT OR IGNORE INTO readings (${COLUMNS}) SELECT ${COLUMNS} FROM readings_v1 ORDER BY received_at; DROP TABLE readings_v1;`);
    }
    db.exec('DROP INDEX IF EXISTS readings_key; DROP INDEX IF EXISTS readings_ts;');
  })();
}

interface ReadingRow {
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
 * measurement).
 */
export class SqliteSeriesStore implements SeriesStore {
  private readonly db: Database.Database;
  private readonly insert;
  private readonly writeTx;
  private readonly checkpointer: WalCheckpointer;
  private readonly indexer: DeviceIndexer;

  /** `onError` hears of checkpoints that failed in the background (the store keeps working). */
  constructor(dataDir: string, onError: (message: string) => void = () => undefined) {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'readings.db');
    this.db = openDatabase(file);
    migrate(this.db);
    this.db.exec(SCHEMA);
    // Readings are the bulk of what is written: their checkpoints run off the event loop.
    this.db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
    this.checkpointer = new WalCheckpointer(file, onError);
    const indexFile = path.join(dataDir, DEVICE_INDEX_FILE);
    this.db.prepare('ATTACH DATABASE ? AS idx').run(indexFile);
    this.db.pragma('idx.journal_mode = WAL');
    this.db.pragma('idx.synchronous = NORMAL');
    this.db.exec(DEVICE_INDEX_SCHEMA);
    this.indexer = new DeviceIndexer(file, indexFile, onError);
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO readings (${COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
    );
    this.writeTx = this.db.transaction((readings: readonly Reading[]) => {
      for (const r of readings) {
        this.insert.run(r.deviceId, r.metric, r.ts, r.value, r.unit ?? null, r.loc?.lat ?? null, r.loc?.lon ?? null, r.zoneIds.join(','), r.subcenterId ?? null, r.receivedAt, r.ref);
      }
    });
  }

  /** The connection: the embedded bus keeps its log in the same database (see write). */
  get database(): Database.Database {
    return this.db;
  }

  async write(readings: readonly Reading[], batch?: BatchContext): Promise<void> {
    if (readings.length === 0) return;
    // In the transaction that commits the bus batch when the log shares this database: the
    // readings, what the batch publishes and its consumer position are then stored together.
    if (batch?.joinCommit(this.db, () => this.writeTx(readings))) return;
    this.writeTx(readings);
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

  async close(): Promise<void> {
    await this.indexer.close();
    await this.checkpointer.close();
    if (this.db.open) this.db.close();
  }
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
