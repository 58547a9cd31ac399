import type Database from 'better-sqlite3';
import { StreetWatchError } from '../../errors.js';
import type { DeviceRegistry, DeviceTrustUpdate } from '../../ports.js';
import type { DevicePatch, DeviceRecord, DeviceSenml, TrustedPosition } from '../../schemas.js';
import { mergeDeviceTrust } from '../device-trust.js';

interface DeviceRow {
  id: string;
  kind: string;
  lat: number | null;
  lon: number | null;
  secret_hash: string;
  created_at: number;
  status: DeviceRecord['status'];
  last_seen: number | null;
  mobile: number;
  gateway: string | null;
  /** JSON DeviceSenml, null for none. */
  senml: string | null;
  last_reading_at: number | null;
  /** JSON TrustedPosition. */
  position: string | null;
  /** JSON array of metric names. */
  metrics: string;
}

export class SqliteDevices implements DeviceRegistry {
  private readonly insert;
  private readonly byId;
  private readonly trustById;
  private readonly all;
  private readonly byGateway;
  private readonly updateSecret;
  private readonly updateStatus;
  private readonly updateSeen;
  private readonly updateProvisioning;
  private readonly updateTrust;
  private readonly del;
  private readonly touchMany;
  private readonly saveTrustMany;
  private readonly patchOne;

  constructor(db: Database.Database) {
    this.insert = db.prepare(
      `INSERT INTO devices (id, kind, lat, lon, secret_hash, created_at, status, last_seen, mobile, gateway, senml, last_reading_at, position, metrics)
       VALUES (@id, @kind, @lat, @lon, @secret_hash, @created_at, @status, @last_seen, @mobile, @gateway, @senml, @last_reading_at, @position, @metrics)`,
    );
    this.byId = db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?');
    this.trustById = db.prepare<[string], Pick<DeviceRow, 'last_reading_at' | 'position' | 'metrics'>>('SELECT last_reading_at, position, metrics FROM devices WHERE id = ?');
    this.all = db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY id');
    this.byGateway = db.prepare<[string, number], DeviceRow>('SELECT * FROM devices WHERE gateway = ? ORDER BY id LIMIT ?');
    this.updateSecret = db.prepare('UPDATE devices SET secret_hash = ? WHERE id = ?');
    this.updateStatus = db.prepare('UPDATE devices SET status = ?, last_seen = max(coalesce(last_seen, 0), ?) WHERE id = ?');
    this.updateSeen = db.prepare('UPDATE devices SET last_seen = max(coalesce(last_seen, 0), ?) WHERE id = ?');
    this.updateProvisioning = db.prepare('UPDATE devices SET kind = @kind, lat = @lat, lon = @lon, mobile = @mobile, gateway = @gateway, senml = @senml WHERE id = @id');
    this.updateTrust = db.prepare('UPDATE devices SET last_reading_at = @last_reading_at, position = @position, metrics = @metrics WHERE id = @id');
    this.del = db.prepare('DELETE FROM devices WHERE id = ?');
    this.touchMany = db.transaction((ids: readonly string[], at: number) => {
      for (const id of ids) this.updateSeen.run(at, id);
    });
    // Read, merged, written in one transaction: a concurrent save cannot be lost between. Ingest
    // saves every device heard about once per interval, so only the trust columns are read and
    // parsed, a text that did not change is written back as it was, and a row the merge leaves
    // as it was is not written at all.
    this.saveTrustMany = db.transaction((updates: readonly DeviceTrustUpdate[]) => {
      for (const u of updates) {
        const row = this.trustById.get(u.id);
        if (!row) continue;
        const stored = { lastReadingAt: row.last_reading_at, position: row.position === null ? null : (JSON.parse(row.position) as TrustedPosition), metrics: JSON.parse(row.metrics) as string[] };
        const merged = mergeDeviceTrust(stored, u);
        const samePosition = merged.position === stored.position;
        const sameMetrics = merged.metrics.length === stored.metrics.length;
        if (merged.lastReadingAt === stored.lastReadingAt && samePosition && sameMetrics) continue;
        this.updateTrust.run({
          id: u.id,
          last_reading_at: merged.lastReadingAt,
          position: samePosition ? row.position : json(merged.position),
          metrics: sameMetrics ? row.metrics : JSON.stringify(merged.metrics),
        });
      }
    });
    this.patchOne = db.transaction((id: string, patch: DevicePatch): DeviceRecord | undefined => {
      const row = this.byId.get(id);
      if (!row) return undefined;
      const next: DeviceRecord = { ...toDevice(row), ...patch };
      this.updateProvisioning.run({ id, kind: next.kind, lat: next.location?.lat ?? null, lon: next.location?.lon ?? null, mobile: next.mobile ? 1 : 0, gateway: next.gateway, senml: JSON.stringify(next.senml) });
      return next;
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
        mobile: d.mobile ? 1 : 0,
        gateway: d.gateway,
        senml: JSON.stringify(d.senml),
        last_reading_at: d.lastReadingAt,
        position: json(d.position),
        metrics: JSON.stringify(d.metrics),
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

  async children(gatewayId: string, limit: number): Promise<DeviceRecord[]> {
    return this.byGateway.all(gatewayId, limit).map(toDevice);
  }

  async update(id: string, patch: DevicePatch): Promise<DeviceRecord | undefined> {
    return this.patchOne(id, patch);
  }

  async saveTrust(updates: readonly DeviceTrustUpdate[]): Promise<void> {
    if (updates.length > 0) this.saveTrustMany(updates);
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

function json(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
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
    mobile: r.mobile === 1,
    gateway: r.gateway,
    senml: r.senml === null ? { name: null, map: [] } : (JSON.parse(r.senml) as DeviceSenml),
    lastReadingAt: r.last_reading_at,
    position: r.position === null ? null : (JSON.parse(r.position) as TrustedPosition),
    metrics: JSON.parse(r.metrics) as string[],
  };
}
