import type Database from 'better-sqlite3';
import { StreetWatchError } from '../../errors.js';
import type { DeviceRegistry } from '../../ports.js';
import type { DeviceRecord } from '../../schemas.js';

interface DeviceRow {
  id: string;
  kind: string;
  lat: number | null;
  lon: number | null;
  secret_hash: string;
  created_at: number;
  status: DeviceRecord['status'];
  last_seen: number | null;
}

export class SqliteDevices implements DeviceRegistry {
  private readonly insert;
  private readonly byId;
  private readonly all;
  private readonly updateSecret;
  private readonly updateStatus;
  private readonly updateSeen;
  private readonly del;
  private readonly touchMany;

  constructor(db: Database.Database) {
    this.insert = db.prepare(
      'INSERT INTO devices (id, kind, lat, lon, secret_hash, created_at, status, last_seen) VALUES (@id, @kind, @lat, @lon, @secret_hash, @created_at, @status, @last_seen)',
    );
    this.byId = db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?');
    this.all = db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY id');
    this.updateSecret = db.prepare('UPDATE devices SET secret_hash = ? WHERE id = ?');
    this.updateStatus = db.prepare('UPDATE devices SET status = ?, last_seen = max(coalesce(last_seen, 0), ?) WHERE id = ?');
    this.updateSeen = db.prepare('UPDATE devices SET last_seen = max(coalesce(last_seen, 0), ?) WHERE id = ?');
    this.del = db.prepare('DELETE FROM devices WHERE id = ?');
    this.touchMany = db.transaction((ids: readonly string[], at: number) => {
      for (const id of ids) this.updateSeen.run(at, id);
    });
  }

  async add(d: DeviceRecord): Promise<void> {
    try {
      this.insert.run({
        id: d.id,
        kind: d.kind,
        lat: d.location?.lat ?? null,
        lon: d.location?.lon ?? null,
        secret_hash: d.secretHash,
        created_at: d.createdAt,
        status: d.status,
        last_seen: d.lastSeen,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StreetWatchError('SW_ERR_DEVICE_EXISTS', [d.id], { cause: err });
      }
      throw err;
    }
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const row = this.byId.get(id);
    return row && toDevice(row);
  }

  async list(): Promise<DeviceRecord[]> {
    return this.all.all().map(toDevice);
  }

  async setSecretHash(id: string, secretHash: string): Promise<boolean> {
    return this.updateSecret.run(secretHash, id).changes > 0;
  }

  async setStatus(id: string, status: DeviceRecord['status'], at: number): Promise<void> {
    this.updateStatus.run(status, at, id);
  }

  async touch(ids: readonly string[], at: number): Promise<void> {
    if (ids.length > 0) this.touchMany(ids, at);
  }

  async remove(id: string): Promise<boolean> {
    return this.del.run(id).changes > 0;
  }
}

function toDevice(r: DeviceRow): DeviceRecord {
  return {
    id: r.id,
    kind: r.kind,
    location: r.lat === null || r.lon === null ? null : { lat: r.lat, lon: r.lon },
    secretHash: r.secret_hash,
    createdAt: r.created_at,
    status: r.status,
    lastSeen: r.last_seen,
  };
}
