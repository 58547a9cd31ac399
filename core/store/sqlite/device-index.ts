import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * How often the worker indexes what was stored since its last pass. The index is keyed by device
 * first, so a pass dirties about a page per busy series however few readings each brings: twice
 * a second, a fleet's 16,000 readings a second made the worker write some 80 MB a second (its WAL
 * and the checkpoints of it), a sixth of a core. Every 5 s a page takes ten times as many entries
 * per write; a query by device scans at most the last 5 s of readings besides the index.
 */
export const DEFAULT_DEVICE_INDEX_INTERVAL_MS = 5_000;
/** Readings indexed in one transaction of the index database, sorted by device first. */
export const DEVICE_INDEX_CHUNK = 50_000;
/** Series (device and metric) whose old entries one transaction of a prune removes. */
export const DEVICE_INDEX_PRUNE_SERIES = 500;
/** The index's file beside `readings.db`. */
export const DEVICE_INDEX_FILE = 'readings-by-device.db';

/** The index database's tables, created by the store's connection (which attaches it as `idx`). */
export const DEVICE_INDEX_SCHEMA = `
CREATE TABLE IF NOT EXISTS idx.by_device (
  device_id TEXT NOT NULL,
  metric TEXT NOT NULL,
  ts INTEGER NOT NULL,
  id INTEGER NOT NULL,
  PRIMARY KEY (device_id, metric, ts)
) WITHOUT ROWID;
-- The highest readings.id indexed: readings above it are found by scanning the table's tail.
CREATE TABLE IF NOT EXISTS idx.indexed (k INTEGER PRIMARY KEY CHECK (k = 0), upto INTEGER NOT NULL);
`;

// Plain CommonJS run by `new Worker(..., { eval: true })`: no TypeScript loader needed.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.readings, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.prepare('ATTACH DATABASE ? AS idx').run(workerData.index);
db.pragma('idx.synchronous = NORMAL');
// A pass is SQL from end to end: the rows never become JavaScript objects, and SQLite sorts them
// by device first before they go into the index.
const chunkEnd = db.prepare('SELECT max(id) FROM (SELECT id FROM main.readings WHERE id > ? ORDER BY id LIMIT ?)').pluck();
const insert = db.prepare('INSERT OR IGNORE INTO idx.by_device (device_id, metric, ts, id) SELECT device_id, metric, ts, id FROM main.readings WHERE id > ? AND id <= ? ORDER BY device_id, metric, ts, id');
const setUpto = db.prepare('INSERT INTO idx.indexed (k, upto) VALUES (0, ?) ON CONFLICT (k) DO UPDATE SET upto = excluded.upto');
const getUpto = db.prepare('SELECT upto FROM idx.indexed WHERE k = 0').pluck();
const store = db.transaction((from, upto) => {
  insert.run(from, upto);
  setUpto.run(upto);
});
let closing = false;
function pass() {
  try {
    let upto = getUpto.get() || 0;
    while (!closing) {
      const last = chunkEnd.get(upto, workerData.chunk);
      if (last === null) return;
      store(upto, last);
      // A range narrower than a chunk reached the end of the table (rowids come in arrival order;
      // where a gap makes one look full, the next query finds nothing).
      if (last - upto < workerData.chunk) return;
      upto = last;
    }
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
}
// Pruning: each series' entries older than the oldest reading left point at nothing. A series
// is a range of the key, found from the one before it; a transaction per PRUNE_SERIES series.
const firstSeries = db.prepare('SELECT device_id, metric FROM idx.by_device ORDER BY device_id, metric LIMIT 1').raw();
const nextSeries = db.prepare('SELECT device_id, metric FROM idx.by_device WHERE (device_id, metric) > (?, ?) ORDER BY device_id, metric LIMIT 1').raw();
const dropOld = db.prepare('DELETE FROM idx.by_device WHERE device_id = ? AND metric = ? AND ts < ?');
function prune(before) {
  let n = 0;
  let series = firstSeries.get();
  const some = db.transaction(() => {
    for (let k = 0; series && k < workerData.pruneSeries; k++) {
      n += dropOld.run(series[0], series[1], before).changes;
      series = nextSeries.get(series[0], series[1]);
    }
  });
  while (series && !closing) some();
  return n;
}
const timer = setInterval(pass, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m && m.prune !== undefined) {
    try {
      parentPort.postMessage({ pruned: prune(m.prune), id: m.id });
    } catch (err) {
      parentPort.postMessage({ pruned: 0, id: m.id, error: String((err && err.message) || err) });
    }
    return;
  }
  closing = true;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Keeps the readings' index by device (device, metric, time) in a database of its own, from a
 * worker thread, a pass every DEFAULT_DEVICE_INDEX_INTERVAL_MS. Inserted with each stored batch,
 * such an index dirtied about one B-tree page per reading once a batch held more series than
 * that (a thousand devices and more), every page rewritten into the WAL at each commit: the
 * store's cost per reading grew with the fleet. A pass inserts a sorted run instead, touching
 * each page once, off the event loop and outside the readings database's write lock. The index
 * is derived: rebuilt from the readings if its file is lost.
 */
export class DeviceIndexer {
  private readonly worker: Worker;
  private readonly pruning = new Map<number, (n: number) => void>();
  private nextId = 0;

  constructor(readingsFile: string, indexFile: string, onError: (message: string) => void, intervalMs = DEFAULT_DEVICE_INDEX_INTERVAL_MS) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { readings: readingsFile, index: indexFile, driver, intervalMs, chunk: DEVICE_INDEX_CHUNK, pruneSeries: DEVICE_INDEX_PRUNE_SERIES } });
    this.worker.on('message', (m: { error?: string; pruned?: number; id?: number }) => {
      if (m.error !== undefined) onError(m.error);
      if (m.id !== undefined) {
        this.pruning.get(m.id)?.(m.pruned ?? 0);
        this.pruning.delete(m.id);
      }
    });
    this.worker.on('error', (err) => onError(err.message));
    // A process that ends without closing the store (a CLI) leaves the rest for the next pass.
    this.worker.unref();
  }

  /**
   * Removes the entries of readings older than `before` (the oldest reading left: the retention
   * job pruned the rest), in the worker, off the event loop and outside the readings' write lock;
   * resolves with how many. An entry the worker indexed just as its reading was pruned is older
   * than the oldest reading left by the next prune, and goes then.
   */
  prune(before: number): Promise<number> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pruning.set(id, resolve);
      this.worker.postMessage({ prune: before, id });
    });
  }

  async close(): Promise<void> {
    const exited = once(this.worker, 'exit');
    this.worker.postMessage('close');
    await exited;
    for (const resolve of this.pruning.values()) resolve(0);
    this.pruning.clear();
  }
}
