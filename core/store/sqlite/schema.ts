import type Database from 'better-sqlite3';
import { movedRuleStateKey } from '../../device-state.js';
import type { Ticket } from '../../schemas.js';
import { MAX_TIMELINE_BYTES, MAX_TIMELINE_ENTRIES, capTimeline } from '../../tickets/timeline.js';
import { migrateDatabase, type Migration } from './migrations.js';

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

-- The newest ticket, open or closed, that listed each fingerprint: a replayed alert of a closed
-- incident is recognised there instead of opening a ticket again.
CREATE TABLE IF NOT EXISTS alert_last_ticket (
  fingerprint TEXT PRIMARY KEY,
  ticket_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

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

CREATE TABLE IF NOT EXISTS ingest_tokens (
  id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- A ring per device (DEVICE_ERROR_LOG_SIZE rows): seq orders arrival, the unique key drops a redelivery.
CREATE TABLE IF NOT EXISTS device_errors (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  topic TEXT NOT NULL,
  ref TEXT NOT NULL,
  UNIQUE (device_id, ref, code, message, topic)
);
CREATE INDEX IF NOT EXISTS device_errors_device ON device_errors(device_id, seq);
`;

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
 * Columns added after the first release of a table, before the schema had a version: a data
 * directory of any of those releases (user_version 0) gets them here when missing.
 */
function addLegacyColumns(db: Database.Database): void {
  const has = (table: string, column: string): boolean =>
    db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)').all(table).some((c) => c.name === column);
  const add = (table: string, column: string, ddl: string, backfill?: string): void => {
    if (has(table, column)) return;
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${ddl}`);
    if (backfill) db.exec(backfill);
  };
  add('outbox', 'lease_owner', 'TEXT');
  add('outbox', 'lease_until', 'INTEGER');
  // 1: the message carries only the ticket's latest state and may be replaced while it waits untried.
  add('outbox', 'coalesce', 'INTEGER NOT NULL DEFAULT 0');
  add('tickets', 'grade', "TEXT NOT NULL DEFAULT ''", UPGRADE_V1_TICKETS);
  add('api_tokens', 'kind', "TEXT NOT NULL DEFAULT 'unit'");
  // Provisioning for trust (mobile, gateway, SenML) and what ingest trusts of each device.
  add('devices', 'mobile', 'INTEGER NOT NULL DEFAULT 0');
  add('devices', 'gateway', 'TEXT');
  add('devices', 'senml', 'TEXT');
  add('devices', 'last_reading_at', 'INTEGER');
  add('devices', 'position', 'TEXT');
  add('devices', 'metrics', "TEXT NOT NULL DEFAULT '[]'");
  db.exec('CREATE INDEX IF NOT EXISTS devices_gateway ON devices(gateway) WHERE gateway IS NOT NULL');
  db.exec('CREATE INDEX IF NOT EXISTS outbox_ticket ON outbox(ticket_id, created_at)');
  // One delivery queue per unit, and the latest message of a ticket to a unit (coalescing).
  db.exec("CREATE INDEX IF NOT EXISTS outbox_unit_due ON outbox(subcenter_id, next_attempt_at) WHERE state = 'pending'");
  db.exec('CREATE INDEX IF NOT EXISTS outbox_pair ON outbox(ticket_id, subcenter_id)');
  db.exec('CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created_at)');
}

/** The governance loop's tables: tickets by department, people's reports and their photos. */
const GOVERNANCE = `
-- The departments each ticket concerns (its lead, its co-handlers not released): what a
-- department token lists.
CREATE TABLE IF NOT EXISTS ticket_departments (
  department TEXT NOT NULL,
  ticket_id TEXT NOT NULL,
  PRIMARY KEY (department, ticket_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ticket_departments_ticket ON ticket_departments(ticket_id);

-- People's reports (统一归集) and their photos, each kept until expires_at.
CREATE TABLE IF NOT EXISTS reports (
  id TEXT PRIMARY KEY,
  filed_by TEXT NOT NULL,
  ticket_id TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_filed_by ON reports(filed_by, created_at);
CREATE INDEX IF NOT EXISTS reports_expiry ON reports(expires_at);
CREATE TABLE IF NOT EXISTS report_photos (
  id TEXT PRIMARY KEY,
  content_type TEXT NOT NULL,
  bytes BLOB NOT NULL,
  filed_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS report_photos_expiry ON report_photos(expires_at);
`;

/** Rule state of one device moves under the device's key prefix (core/device-state.ts). */
function moveDeviceRuleState(db: Database.Database): void {
  const keys = db.prepare<[], { key: string }>("SELECT key FROM kv WHERE key >= 'rule:' AND key < 'rule;'").all();
  const rename = db.prepare('UPDATE OR REPLACE kv SET key = ? WHERE key = ?');
  for (const { key } of keys) {
    const moved = movedRuleStateKey(key);
    if (moved !== undefined) rename.run(moved, key);
  }
}

/**
 * Timelines written before they were bounded (a closed ticket is never written again) are held
 * to the bounds every writer keeps now (core/tickets/timeline.ts); only tickets over a bound are
 * read. The version stays: nothing happened to the ticket.
 */
function boundOldTimelines(db: Database.Database): void {
  const over = db.prepare<[number, number], { id: string; body: string }>(
    "SELECT id, body FROM tickets WHERE json_array_length(body, '$.timeline') > ? OR length(body) > ?",
  );
  const write = db.prepare('UPDATE tickets SET body = ? WHERE id = ?');
  for (const { id, body } of over.all(MAX_TIMELINE_ENTRIES, MAX_TIMELINE_BYTES)) {
    const ticket = JSON.parse(body) as Ticket;
    const timeline = capTimeline(ticket.timeline);
    if (timeline.length !== ticket.timeline.length) write.run(JSON.stringify({ ...ticket, timeline }), id);
  }
}

/** The state database's layout, version by version (see migrations.ts). */
export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices, tickets, outbox, timers, supervision orders, tokens and rule state',
    up: (db) => {
      db.exec(SCHEMA);
      addLegacyColumns(db);
    },
  },
  {
    version: 2,
    name: 'rule state of each device under its key prefix; settled outbox messages by age; timelines bounded',
    up: (db) => {
      moveDeviceRuleState(db);
      boundOldTimelines(db);
      // Delivered and given-up messages, oldest first, for the retention job.
      db.exec("CREATE INDEX IF NOT EXISTS outbox_settled ON outbox(next_attempt_at) WHERE state <> 'pending'");
    },
  },
  {
    version: 3,
    name: 'tickets by department; people\'s reports and their photos, kept until they expire',
    up: (db) => {
      db.exec(GOVERNANCE);
      // Tickets saved before departments were indexed: their lead department (none had co-handlers).
      db.exec("INSERT OR IGNORE INTO ticket_departments (department, ticket_id) SELECT json_extract(body, '$.department'), id FROM tickets WHERE json_extract(body, '$.department') IS NOT NULL");
    },
  },
];

/** The state database's file name in the data directory. */
export const STATE_DATABASE = 'state.db';

/** Creates the tables and indexes the state store needs, or migrates a database written by an earlier release. */
export function createSchema(db: Database.Database): { from: number; to: number } {
  return migrateDatabase(db, STATE_DATABASE, STATE_MIGRATIONS);
}
