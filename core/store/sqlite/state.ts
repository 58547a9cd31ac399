import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { DEFAULT_OUTBOX_POLICY } from '../../config.js';
import type { ApiTokenStore, DeviceErrorLog, DeviceRegistry, IngestTokenStore, KeyValueStore, Outbox, OutboxPolicy, ReportStore, StateStore, SupervisionStore, TicketStore, TimerStore } from '../../ports.js';
import { Signal } from '../../signal.js';
import { SqliteDeviceErrors } from './device-errors.js';
import { SqliteDevices } from './devices.js';
import { SqliteIngestTokens } from './ingest-tokens.js';
import { SqliteKv } from './kv.js';
import { openDatabase } from './open.js';
import { SqliteOutbox } from './outbox.js';
import { SqliteReports } from './reports.js';
import { STATE_DATABASE, createSchema } from './schema.js';
import { SqliteSupervision } from './supervision.js';
import { SqliteTickets } from './tickets.js';
import { SqliteTimers } from './timers.js';
import { SqliteTokens } from './tokens.js';

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
  readonly ingestTokens: IngestTokenStore;
  readonly kv: KeyValueStore;
  readonly deviceErrors: DeviceErrorLog;
  readonly reports: ReportStore;
  private readonly db: Database.Database;

  constructor(dataDir: string, opts: { outbox?: OutboxPolicy } = {}) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = openDatabase(path.join(dataDir, STATE_DATABASE));
    createSchema(this.db);
    this.devices = new SqliteDevices(this.db);
    const written = new Signal();
    this.tickets = new SqliteTickets(this.db, opts.outbox ?? DEFAULT_OUTBOX_POLICY, written);
    this.outbox = new SqliteOutbox(this.db, written);
    this.timers = new SqliteTimers(this.db);
    this.supervision = new SqliteSupervision(this.db);
    this.tokens = new SqliteTokens(this.db);
    this.ingestTokens = new SqliteIngestTokens(this.db);
    this.kv = new SqliteKv(this.db);
    this.deviceErrors = new SqliteDeviceErrors(this.db);
    this.reports = new SqliteReports(this.db);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
