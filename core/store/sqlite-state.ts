import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StreetWatchError } from '../errors.js';
import type {
  DeviceRegistry,
  KeyValueStore,
  Outbox,
  OutboxItem,
  OutboxMessage,
  StateStore,
  TicketFilter,
  TicketStore,
} from '../ports.js';
import type { DeviceRecord, Ticket } from '../schemas.js';
import { openDatabase } from './sqlite-open.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  lat REAL, lon REAL,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'unknown',
  last_seen INTEGER
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tickets (
  id TEXT PRIMARY KEY,
  merge_key TEXT NOT NULL,
  status TEXT NOT NULL,
  subcenter_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL
);
-- At most one open ticket per merge key: the storage-level guard against a double ticket.
CREATE UNIQUE INDEX IF NOT EXISTS tickets_open_merge_key ON tickets(merge_key) WHERE status <> 'closed';
CREATE INDEX IF NOT EXISTS tickets_subcenter ON tickets(subcenter_id, created_at);

CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  subcenter_id TEXT NOT NULL,
  ticket_id TEXT NOT NULL,
  event TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  state TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(next_attempt_at) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
`;

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

interface OutboxRow {
  id: string;
  channel: 'webhook';
  subcenter_id: string;
  ticket_id: string;
  event: string;
  body: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  state: OutboxItem['state'];
}

/**
 * The embedded state store: devices, tickets, the delivery outbox and rule state in one SQLite
 * database (WAL). Every write is a transaction, so a killed process loses nothing it
 * acknowledged.
 */
export class SqliteStateStore implements StateStore {
  readonly devices: DeviceRegistry;
  readonly tickets: TicketStore;
  readonly outbox: Outbox;
  readonly kv: KeyValueStore;
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = openDatabase(path.join(dataDir, 'state.db'));
    this.db.exec(SCHEMA);
    this.devices = new SqliteDevices(this.db);
    this.tickets = new SqliteTickets(this.db);
    this.outbox = new SqliteOutbox(this.db);
    this.kv = new SqliteKv(this.db);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

class SqliteDevices implements DeviceRegistry {
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

class SqliteTickets implements TicketStore {
  private readonly byId;
  private readonly openByKey;
  private readonly insert;
  private readonly update;
  private readonly insertOutbox;
  private readonly saveTx;

  constructor(private readonly db: Database.Database) {
    this.byId = db.prepare<[string], { body: string }>('SELECT body FROM tickets WHERE id = ?');
    this.openByKey = db.prepare<[string], { body: string }>("SELECT body FROM tickets WHERE merge_key = ? AND status <> 'closed'");
    this.insert = db.prepare(
      'INSERT INTO tickets (id, merge_key, status, subcenter_id, created_at, version, body) VALUES (@id, @mergeKey, @status, @subcenterId, @createdAt, @version, @body)',
    );
    this.update = db.prepare(
      'UPDATE tickets SET merge_key = @mergeKey, status = @status, subcenter_id = @subcenterId, version = @version, body = @body WHERE id = @id AND version = @version - 1',
    );
    this.insertOutbox = db.prepare(
      'INSERT OR IGNORE INTO outbox (id, channel, subcenter_id, ticket_id, event, body, created_at, next_attempt_at) VALUES (@id, @channel, @subcenterId, @ticketId, @event, @body, @createdAt, @createdAt)',
    );
    this.saveTx = db.transaction((t: Ticket, outbox: readonly OutboxMessage[]) => {
      const row = { id: t.id, mergeKey: t.mergeKey, status: t.status, subcenterId: t.subcenterId, createdAt: t.createdAt, version: t.version, body: JSON.stringify(t) };
      if (t.version === 1) {
        this.insert.run(row);
      } else if (this.update.run(row).changes === 0) {
        throw new StreetWatchError('SW_ERR_TICKET_CONFLICT', [t.id]);
      }
      for (const m of outbox) this.insertOutbox.run(m);
    });
  }

  async get(id: string): Promise<Ticket | undefined> {
    const row = this.byId.get(id);
    return row && (JSON.parse(row.body) as Ticket);
  }

  async findOpen(mergeKey: string): Promise<Ticket | undefined> {
    const row = this.openByKey.get(mergeKey);
    return row && (JSON.parse(row.body) as Ticket);
  }

  async list(filter: TicketFilter = {}): Promise<Ticket[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.subcenterId !== undefined) {
      where.push('subcenter_id = ?');
      params.push(filter.subcenterId);
    }
    if (filter.status !== undefined) {
      const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
      where.push(`status IN (${statuses.map(() => '?').join(',')})`);
      params.push(...statuses);
    }
    const sql = `SELECT body FROM tickets ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
    params.push(filter.limit ?? 1000);
    return this.db
      .prepare<unknown[], { body: string }>(sql)
      .all(...params)
      .map((r) => JSON.parse(r.body) as Ticket);
  }

  async save(ticket: Ticket, outbox: readonly OutboxMessage[] = []): Promise<void> {
    try {
      this.saveTx(ticket, outbox);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StreetWatchError('SW_ERR_TICKET_CONFLICT', [ticket.id], { cause: err });
      }
      throw err;
    }
  }
}

class SqliteOutbox implements Outbox {
  private readonly dueStmt;
  private readonly delivered;
  private readonly failed;
  private readonly byId;

  constructor(db: Database.Database) {
    this.dueStmt = db.prepare<[number, number], OutboxRow>(
      "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?",
    );
    this.delivered = db.prepare("UPDATE outbox SET state = 'delivered', attempts = attempts + 1, next_attempt_at = ?, last_error = NULL WHERE id = ?");
    this.failed = db.prepare(
      "UPDATE outbox SET attempts = ?, next_attempt_at = coalesce(?, next_attempt_at), state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, last_error = ? WHERE id = ?",
    );
    this.byId = db.prepare<[string], OutboxRow>('SELECT * FROM outbox WHERE id = ?');
  }

  async due(now: number, limit: number): Promise<OutboxItem[]> {
    return this.dueStmt.all(now, limit).map(toOutboxItem);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    this.delivered.run(at, id);
  }

  async markFailed(id: string, attempts: number, nextAttemptAt: number | null, error: string): Promise<void> {
    this.failed.run(attempts, nextAttemptAt, nextAttemptAt, error.slice(0, 500), id);
  }

  async get(id: string): Promise<OutboxItem | undefined> {
    const row = this.byId.get(id);
    return row && toOutboxItem(row);
  }
}

function toOutboxItem(r: OutboxRow): OutboxItem {
  return {
    id: r.id,
    channel: r.channel,
    subcenterId: r.subcenter_id,
    ticketId: r.ticket_id,
    event: r.event,
    body: r.body,
    createdAt: r.created_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    state: r.state,
  };
}

class SqliteKv implements KeyValueStore {
  private readonly getStmt;
  private readonly setStmt;
  private readonly delStmt;
  private readonly setTx;

  constructor(db: Database.Database) {
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?');
    this.setStmt = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.delStmt = db.prepare('DELETE FROM kv WHERE key = ?');
    this.setTx = db.transaction((entries: ReadonlyMap<string, unknown>) => {
      for (const [k, v] of entries) {
        if (v === undefined) this.delStmt.run(k);
        else this.setStmt.run(k, JSON.stringify(v));
      }
    });
  }

  async getMany<T>(keys: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const k of keys) {
      const row = this.getStmt.get(k);
      if (row) out.set(k, JSON.parse(row.value) as T);
    }
    return out;
  }

  async setMany(entries: ReadonlyMap<string, unknown>): Promise<void> {
    if (entries.size > 0) this.setTx(entries);
  }
}
