import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker copies the write-ahead log back into the database file. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 500;
/**
 * WAL pages after which the writer checkpoints by itself (SQLite's own automatic checkpoint):
 * only reached if the worker falls behind or is gone. SQLite's default is 1 000 (4 MiB).
 */
export const WRITER_AUTOCHECKPOINT_PAGES = 16_000;

// Plain CommonJS run by `new Worker(..., { eval: true })`: no TypeScript loader needed.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints a WAL database from a worker thread with a connection of its own. A checkpoint
 * copies the pages the log holds back into the database file and syncs it; run by the writer
 * (SQLite's automatic checkpoint) it blocks the event loop for tens of milliseconds every few
 * MiB written, which every PUBACK waiting on a store commit then waits for too. A PASSIVE
 * checkpoint never blocks the writer, and the writer's commits stay as durable as before
 * (synchronous=NORMAL: the log, not the checkpoint, makes a commit survive a killed process).
 */
export class WalCheckpointer {
  private readonly worker: Worker;

  constructor(file: string, onError: (message: string) => void, intervalMs = DEFAULT_CHECKPOINT_INTERVAL_MS) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs } });
    this.worker.on('message', (m: { error: string }) => onError(m.error));
    this.worker.on('error', (err) => onError(err.message));
    // The process may end without closing the store (a CLI); the writer's own checkpoint remains.
    this.worker.unref();
  }

  async close(): Promise<void> {
    const exited = once(this.worker, 'exit');
    // Held again while it closes: a process with nothing else to do (a CLI, a script) would
    // otherwise exit before the close resolves.
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }
}
