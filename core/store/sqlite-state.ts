import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StreetWatchError } from '../errors.js';
import type {
  ApiTokenRecord,
  ApiTokenStore,
  DeviceRegistry,
  KeyValueStore,
  Outbox,
  OutboxItem,
  OutboxMessage,
  StateStore,
  SupervisionFilter,
  SupervisionStore,
  TicketFilter,
  TicketSaveEffects,
  TicketStore,
  TimerStore,
} from '../ports.js';
import type { DeviceRecord, SupervisionOrder, Ticket, TicketTimer, TimerKind } from '../schemas.js';
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

-- Fingerprints of the alerts each open ticket holds, so a resolution finds its ticket even
-- after a reassignment or a proximity merge.
CREATE TABLE IF NOT EXISTS ticket_alerts (
  fingerprint TEXT NOT NULL,
  ticket_id TEXT NOT NULL,
  PRIMARY KEY (fingerprint, ticket_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ticket_alerts_ticket ON ticket_alerts(ticket_id);

CREATE TABLE IF NOT EXISTS ticket_timers (
  id TEXT PRIMARY KEY,
  ticket_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER
);
CREATE INDEX IF NOT EXISTS ticket_timers_due ON ticket_timers(due_at);
CREATE INDEX IF NOT EXISTS ticket_timers_ticket ON ticket_timers(ticket_id);

CREATE TABLE IF NOT EXISTS supervision_orders (
  id TEXT PRIMARY KEY,
  ticket_id TEXT NOT NULL,
  subcenter_id TEXT NOT NULL,
  issued_to TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS supervision_orders_ticket ON supervision_orders(ticket_id);

CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT PRIMARY KEY,
  unit_id TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

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
  readonly timers: TimerStore;
  readonly supervision: SupervisionStore;
  readonly tokens: ApiTokenStore;
  readonly kv: KeyValueStore;
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = openDatabase(path.join(dataDir, 'state.db'));
    this.db.exec(SCHEMA);
    migrate(this.db);
    this.devices = new SqliteDevices(this.db);
    this.tickets = new SqliteTickets(this.db);
    this.outbox = new SqliteOutbox(this.db);
    this.timers = new SqliteTimers(this.db);
    this.supervision = new SqliteSupervision(this.db);
    this.tokens = new SqliteTokens(this.db);
    this.kv = new SqliteKv(this.db);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/**
 * Tickets written by the first release lack the fields of the governance loop: fill them in
 * from what the ticket records (json_insert adds only missing keys), and index the alerts of
 * the open ones so their resolutions still find them.
 */
const UPGRADE_V1_TICKETS = `
UPDATE tickets SET grade = coalesce(json_extract(body, '$.grade'), '');
UPDATE tickets SET body = json_insert(body,
  '$.baseGrade', json_extract(body, '$.grade'),
  '$.gradeReasons', json('[]'),
  '$.dispatchedAt', created_at,
  '$.respondedAt', (SELECT min(json_extract(e.value, '$.at')) FROM json_each(body, '$.timeline') e WHERE json_extract(e.value, '$.action') IN ('acknowledged', 'in_progress', 'resolved')),
  '$.resolvedAt', (SELECT max(json_extract(e.value, '$.at')) FROM json_each(body, '$.timeline') e WHERE json_extract(e.value, '$.action') = 'resolved'),
  '$.closedAt', (SELECT max(json_extract(e.value, '$.at')) FROM json_each(body, '$.timeline') e WHERE json_extract(e.value, '$.action') = 'closed'),
  '$.closure', CASE WHEN status = 'closed' THEN json_object('by', 'operator', 'actor', 'unknown', 'at', json_extract(body, '$.updatedAt')) END,
  '$.alertCount', json_array_length(body, '$.alerts'),
  '$.devices', (SELECT json_group_array(d) FROM (SELECT DISTINCT json_extract(a.value, '$.deviceId') AS d FROM json_each(body, '$.alerts') a)),
  '$.firstSeen', coalesce((SELECT min(json_extract(a.value, '$.firstSeen')) FROM json_each(body, '$.alerts') a), created_at),
  '$.lastSeen', coalesce((SELECT max(json_extract(a.value, '$.lastSeen')) FROM json_each(body, '$.alerts') a), created_at),
  '$.reminders', json('[]'),
  '$.overdue', json('[]'),
  '$.red', json('false'),
  '$.supervisionOrderIds', json('[]'));
INSERT OR IGNORE INTO ticket_alerts (fingerprint, ticket_id)
  SELECT json_extract(a.value, '$.fingerprint'), t.id FROM tickets t, json_each(t.body, '$.alerts') a WHERE t.status <> 'closed';
`;

/**
 * Columns added after the first release of a table: CREATE TABLE IF NOT EXISTS leaves an
 * existing table alone, so they are added here when missing (idempotent, no version number to
 * coordinate between branches).
 */
function migrate(db: Database.Database): void {
  const has = (table: string, column: string): boolean =>
    db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)').all(table).some((c) => c.name === column);
  const add = (table: string, column: string, ddl: string, backfill?: string): void => {
    if (has(table, column)) return;
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${ddl}`);
    if (backfill) db.exec(backfill);
  };
  add('outbox', 'lease_owner', 'TEXT');
  add('outbox', 'lease_until', 'INTEGER');
  add('tickets', 'grade', "TEXT NOT NULL DEFAULT ''", UPGRADE_V1_TICKETS);
  db.exec('CREATE INDEX IF NOT EXISTS outbox_ticket ON outbox(ticket_id, created_at)');
  db.exec('CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created_at)');
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

interface TimerRow {
  id: string;
  ticket_id: string;
  kind: TimerKind;
  due_at: number;
  lease_owner: string | null;
  lease_until: number | null;
}

class SqliteTickets implements TicketStore {
  private readonly byId;
  private readonly openByKey;
  private readonly openByAlert;
  private readonly insert;
  private readonly update;
  private readonly insertOutbox;
  private readonly dropAlerts;
  private readonly insertAlert;
  private readonly timersOf;
  private readonly upsertTimer;
  private readonly dropTimer;
  private readonly upsertOrder;
  private readonly saveTx;

  constructor(private readonly db: Database.Database) {
    this.byId = db.prepare<[string], { body: string }>('SELECT body FROM tickets WHERE id = ?');
    this.openByKey = db.prepare<[string], { body: string }>("SELECT body FROM tickets WHERE merge_key = ? AND status <> 'closed'");
    this.openByAlert = db.prepare<[string], { body: string }>(
      "SELECT t.body FROM ticket_alerts a JOIN tickets t ON t.id = a.ticket_id WHERE a.fingerprint = ? AND t.status <> 'closed' ORDER BY t.created_at DESC LIMIT 1",
    );
    this.insert = db.prepare(
      'INSERT INTO tickets (id, merge_key, status, subcenter_id, created_at, version, grade, body) VALUES (@id, @mergeKey, @status, @subcenterId, @createdAt, @version, @grade, @body)',
    );
    this.update = db.prepare(
      'UPDATE tickets SET merge_key = @mergeKey, status = @status, subcenter_id = @subcenterId, version = @version, grade = @grade, body = @body WHERE id = @id AND version = @version - 1',
    );
    this.insertOutbox = db.prepare(
      'INSERT OR IGNORE INTO outbox (id, channel, subcenter_id, ticket_id, event, body, created_at, next_attempt_at) VALUES (@id, @channel, @subcenterId, @ticketId, @event, @body, @createdAt, @createdAt)',
    );
    this.dropAlerts = db.prepare('DELETE FROM ticket_alerts WHERE ticket_id = ?');
    this.insertAlert = db.prepare('INSERT OR IGNORE INTO ticket_alerts (fingerprint, ticket_id) VALUES (?, ?)');
    this.timersOf = db.prepare<[string], TimerRow>('SELECT * FROM ticket_timers WHERE ticket_id = ?');
    this.upsertTimer = db.prepare(
      'INSERT INTO ticket_timers (id, ticket_id, kind, due_at) VALUES (@id, @ticketId, @kind, @dueAt) ON CONFLICT(id) DO UPDATE SET ticket_id = excluded.ticket_id, kind = excluded.kind, due_at = excluded.due_at, lease_owner = NULL, lease_until = NULL',
    );
    this.dropTimer = db.prepare('DELETE FROM ticket_timers WHERE id = ?');
    this.upsertOrder = db.prepare(
      'INSERT INTO supervision_orders (id, ticket_id, subcenter_id, issued_to, status, created_at, body) VALUES (@id, @ticketId, @subcenterId, @issuedTo, @status, @createdAt, @body) ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body',
    );
    this.saveTx = db.transaction((t: Ticket, outbox: readonly OutboxMessage[], effects: TicketSaveEffects) => {
      const row = { id: t.id, mergeKey: t.mergeKey, status: t.status, subcenterId: t.subcenterId, createdAt: t.createdAt, version: t.version, grade: t.grade, body: JSON.stringify(t) };
      if (t.version === 1) {
        this.insert.run(row);
      } else if (this.update.run(row).changes === 0) {
        throw new StreetWatchError('SW_ERR_TICKET_CONFLICT', [t.id]);
      }
      for (const m of outbox) this.insertOutbox.run(m);
      this.dropAlerts.run(t.id);
      if (t.status !== 'closed') for (const a of t.alerts) this.insertAlert.run(a.fingerprint, t.id);
      if (effects.timers) this.replaceTimers(t.id, effects.timers);
      for (const o of effects.supervisionOrders ?? []) {
        this.upsertOrder.run({ id: o.id, ticketId: o.ticketId, subcenterId: o.subcenterId, issuedTo: o.issuedTo, status: o.status, createdAt: o.createdAt, body: JSON.stringify(o) });
      }
    });
  }

  private replaceTimers(ticketId: string, timers: readonly TicketTimer[]): void {
    const stored = new Map(this.timersOf.all(ticketId).map((r) => [r.id, r]));
    for (const t of timers) {
      const prev = stored.get(t.id);
      stored.delete(t.id);
      // Same timer, same due time: keep it, and whoever holds its claim keeps it.
      if (prev && prev.due_at === t.dueAt && prev.kind === t.kind) continue;
      this.upsertTimer.run(t);
    }
    for (const id of stored.keys()) this.dropTimer.run(id);
  }

  async get(id: string): Promise<Ticket | undefined> {
    const row = this.byId.get(id);
    return row && (JSON.parse(row.body) as Ticket);
  }

  async findOpen(mergeKey: string): Promise<Ticket | undefined> {
    const row = this.openByKey.get(mergeKey);
    return row && (JSON.parse(row.body) as Ticket);
  }

  async findOpenByAlert(fingerprint: string): Promise<Ticket | undefined> {
    const row = this.openByAlert.get(fingerprint);
    return row && (JSON.parse(row.body) as Ticket);
  }

  async list(filter: TicketFilter = {}): Promise<Ticket[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const oneOf = (column: string, values: string | string[]): void => {
      const list = Array.isArray(values) ? values : [values];
      where.push(`${column} IN (${list.map(() => '?').join(',') || 'NULL'})`);
      params.push(...list);
    };
    if (filter.subcenterId !== undefined) {
      where.push('subcenter_id = ?');
      params.push(filter.subcenterId);
    }
    if (filter.status !== undefined) oneOf('status', filter.status);
    if (filter.grade !== undefined) oneOf('grade', filter.grade);
    if (filter.createdFrom !== undefined) {
      where.push('created_at >= ?');
      params.push(filter.createdFrom);
    }
    if (filter.createdTo !== undefined) {
      where.push('created_at < ?');
      params.push(filter.createdTo);
    }
    const sql = `SELECT body FROM tickets ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
    params.push(filter.limit ?? 1000);
    return this.db
      .prepare<unknown[], { body: string }>(sql)
      .all(...params)
      .map((r) => JSON.parse(r.body) as Ticket);
  }

  async save(ticket: Ticket, outbox: readonly OutboxMessage[] = [], effects: TicketSaveEffects = {}): Promise<void> {
    try {
      this.saveTx(ticket, outbox, effects);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StreetWatchError('SW_ERR_TICKET_CONFLICT', [ticket.id], { cause: err });
      }
      throw err;
    }
  }
}

class SqliteTimers implements TimerStore {
  private readonly claimTx;
  private readonly del;
  private readonly ofTicket;

  constructor(db: Database.Database) {
    const dueIds = db.prepare<[number, number, number], { id: string }>(
      'SELECT id FROM ticket_timers WHERE due_at <= ? AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at, id LIMIT ?',
    );
    const lease = db.prepare<[string, number, string], TimerRow>('UPDATE ticket_timers SET lease_owner = ?, lease_until = ? WHERE id = ? RETURNING *');
    this.claimTx = db.transaction((now: number, limit: number, owner: string, leaseMs: number) =>
      dueIds.all(now, now, limit).map(({ id }) => lease.get(owner, now + leaseMs, id)!),
    );
    this.del = db.prepare('DELETE FROM ticket_timers WHERE id = ? AND lease_owner = ?');
    this.ofTicket = db.prepare<[string], TimerRow>('SELECT * FROM ticket_timers WHERE ticket_id = ? ORDER BY due_at, id');
  }

  async claimDue(now: number, limit: number, owner: string, leaseMs: number): Promise<TicketTimer[]> {
    // IMMEDIATE: the write lock is taken before the read, so two processes sharing the file
    // cannot both select the same free timer.
    return this.claimTx.immediate(now, limit, owner, leaseMs).map(toTimer);
  }

  async complete(id: string, owner: string): Promise<boolean> {
    return this.del.run(id, owner).changes > 0;
  }

  async forTicket(ticketId: string): Promise<TicketTimer[]> {
    return this.ofTicket.all(ticketId).map(toTimer);
  }
}

function toTimer(r: TimerRow): TicketTimer {
  return { id: r.id, ticketId: r.ticket_id, kind: r.kind, dueAt: r.due_at };
}

class SqliteSupervision implements SupervisionStore {
  private readonly byId;

  constructor(private readonly db: Database.Database) {
    this.byId = db.prepare<[string], { body: string }>('SELECT body FROM supervision_orders WHERE id = ?');
  }

  async get(id: string): Promise<SupervisionOrder | undefined> {
    const row = this.byId.get(id);
    return row && (JSON.parse(row.body) as SupervisionOrder);
  }

  async list(filter: SupervisionFilter = {}): Promise<SupervisionOrder[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.unitId !== undefined) {
      where.push('(issued_to = ? OR subcenter_id = ?)');
      params.push(filter.unitId, filter.unitId);
    }
    if (filter.ticketId !== undefined) {
      where.push('ticket_id = ?');
      params.push(filter.ticketId);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    params.push(filter.limit ?? 1000);
    return this.db
      .prepare<unknown[], { body: string }>(`SELECT body FROM supervision_orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`)
      .all(...params)
      .map((r) => JSON.parse(r.body) as SupervisionOrder);
  }
}

interface TokenRow {
  id: string;
  unit_id: string;
  token_hash: string;
  label: string;
  created_at: number;
  revoked_at: number | null;
}

class SqliteTokens implements ApiTokenStore {
  private readonly insert;
  private readonly byHash;
  private readonly all;
  private readonly ofUnit;
  private readonly revokeStmt;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO api_tokens (id, unit_id, token_hash, label, created_at, revoked_at) VALUES (@id, @unitId, @tokenHash, @label, @createdAt, @revokedAt)');
    this.byHash = db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE token_hash = ?');
    this.all = db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id');
    this.ofUnit = db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE unit_id = ? ORDER BY created_at, id');
    this.revokeStmt = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  async add(t: ApiTokenRecord): Promise<void> {
    this.insert.run(t);
  }

  async findByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    const row = this.byHash.get(tokenHash);
    return row && toToken(row);
  }

  async list(unitId?: string): Promise<ApiTokenRecord[]> {
    return (unitId === undefined ? this.all.all() : this.ofUnit.all(unitId)).map(toToken);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.revokeStmt.run(at, id).changes > 0;
  }
}

function toToken(r: TokenRow): ApiTokenRecord {
  return { id: r.id, unitId: r.unit_id, tokenHash: r.token_hash, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at };
}

class SqliteOutbox implements Outbox {
  private readonly dueStmt;
  private readonly claimTx;
  private readonly delivered;
  private readonly failed;
  private readonly byId;
  private readonly ofTicket;

  constructor(db: Database.Database) {
    this.dueStmt = db.prepare<[number, number], OutboxRow>(
      "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?",
    );
    const claimable = db.prepare<[number, number, number], { id: string }>(
      "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, created_at LIMIT ?",
    );
    const lease = db.prepare<[string, number, string], OutboxRow>('UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ? RETURNING *');
    this.claimTx = db.transaction((now: number, limit: number, owner: string, leaseMs: number) =>
      claimable.all(now, now, limit).map(({ id }) => lease.get(owner, now + leaseMs, id)!),
    );
    this.delivered = db.prepare(
      "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, next_attempt_at = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?",
    );
    this.failed = db.prepare(
      "UPDATE outbox SET attempts = ?, next_attempt_at = coalesce(?, next_attempt_at), state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
    );
    this.byId = db.prepare<[string], OutboxRow>('SELECT * FROM outbox WHERE id = ?');
    this.ofTicket = db.prepare<[string], OutboxRow>('SELECT * FROM outbox WHERE ticket_id = ? ORDER BY created_at, id');
  }

  async due(now: number, limit: number): Promise<OutboxItem[]> {
    return this.dueStmt.all(now, limit).map(toOutboxItem);
  }

  async claim(now: number, limit: number, owner: string, leaseMs: number): Promise<OutboxItem[]> {
    return this.claimTx.immediate(now, limit, owner, leaseMs).map(toOutboxItem);
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

  async forTicket(ticketId: string): Promise<OutboxItem[]> {
    return this.ofTicket.all(ticketId).map(toOutboxItem);
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
  private readonly casTx;

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
    this.casTx = db.transaction((key: string, expected: string | undefined, next: string | undefined): boolean => {
      if (this.getStmt.get(key)?.value !== expected) return false;
      if (next === undefined) this.delStmt.run(key);
      else this.setStmt.run(key, next);
      return true;
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

  async compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    // BEGIN IMMEDIATE: the read and the write hold the write lock together, so a second
    // process on the same file cannot slip in between.
    return this.casTx.immediate(key, jsonOrUndefined(expected), jsonOrUndefined(next));
  }
}

function jsonOrUndefined(v: unknown): string | undefined {
  return v === undefined ? undefined : JSON.stringify(v);
}
