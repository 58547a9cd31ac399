import type Database from 'better-sqlite3';
import { DEVICE_ERROR_LOG_SIZE, type DeviceErrorLog, type DeviceErrorRecord } from '../../ports.js';

/** The device error rings in SQLite: one table, trimmed to the newest rows per device on each append. */
export class SqliteDeviceErrors implements DeviceErrorLog {
  private readonly insert;
  private readonly trim;
  private readonly newest;
  private readonly clearStmt;
  private readonly appendAll;

  constructor(db: Database.Database, private readonly capacity = DEVICE_ERROR_LOG_SIZE) {
    this.insert = db.prepare('INSERT OR IGNORE INTO device_errors (device_id, at, code, message, topic, ref) VALUES (?, ?, ?, ?, ?, ?)');
    this.trim = db.prepare('DELETE FROM device_errors WHERE device_id = ? AND seq <= (SELECT seq FROM device_errors WHERE device_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)');
    this.newest = db.prepare<[string, number], DeviceErrorRecord>('SELECT code, message, topic, ref, at FROM device_errors WHERE device_id = ? ORDER BY seq DESC LIMIT ?');
    this.clearStmt = db.prepare('DELETE FROM device_errors WHERE device_id = ?');
    this.appendAll = db.transaction((deviceId: string, errors: readonly DeviceErrorRecord[]) => {
      for (const e of errors) this.insert.run(deviceId, e.at, e.code, e.message, e.topic, e.ref);
      this.trim.run(deviceId, deviceId, this.capacity);
    });
  }

  async append(deviceId: string, errors: readonly DeviceErrorRecord[]): Promise<void> {
    if (errors.length > 0) this.appendAll(deviceId, errors);
  }

  async recent(deviceId: string, limit = this.capacity): Promise<DeviceErrorRecord[]> {
    return this.newest.all(deviceId, Math.min(limit, this.capacity)).map((r) => ({ code: r.code, message: r.message, topic: r.topic, ref: r.ref, at: r.at }));
  }

  async clear(deviceId: string): Promise<void> {
    this.clearStmt.run(deviceId);
  }
}
