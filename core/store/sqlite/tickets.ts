import type Database from 'better-sqlite3';
import { StreetWatchError } from '../../errors.js';
import type { OutboxMessage, OutboxPolicy, TicketFilter, TicketSaveEffects, TicketStore } from '../../ports.js';
import type { Ticket, TicketTimer } from '../../schemas.js';
import type { Signal } from '../../signal.js';
import { involvedDepartments } from '../../tickets/joint.js';
import type { TimerRow } from './timers.js';

/**
 * A ticket save is one transaction with everything that must not be lost with it: its outbox
 * messages, the index of its alerts, its timers and its supervision orders.
 */
export class SqliteTickets implements TicketStore {
  private readonly byId;
  private readonly openByKey;
  private readonly openByAlert;
  private readonly insert;
  private readonly update;
  private readonly insertOutbox;
  private readonly outboxExists;
  private readonly latestOfPair;
  private readonly replaceOutbox;
  private readonly pendingOfUnit;
  private readonly oldestPendingOfUnit;
  private readonly giveUp;
  private readonly dropAlerts;
  private readonly insertAlert;
  private readonly lastByAlertStmt;
  private readonly markLast;
  private readonly timersOf;
  private readonly upsertTimer;
  private readonly dropTimer;
  private readonly upsertOrder;
  private readonly dropDepartments;
  private readonly insertDepartment;
  private readonly linkReport;
  private readonly saveTx;

  constructor(
    private readonly db: Database.Database,
    private readonly policy: OutboxPolicy,
    /** Told of every committed save that wrote messages (Outbox.onWritten). */
    private readonly written: Signal,
  ) {
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
      'INSERT OR IGNORE INTO outbox (id, channel, subcenter_id, ticket_id, event, body, created_at, next_attempt_at, coalesce) VALUES (@id, @channel, @subcenterId, @ticketId, @event, @body, @createdAt, @dueAt, @coalesce)',
    );
    this.outboxExists = db.prepare<[string], { id: string }>('SELECT id FROM outbox WHERE id = ?');
    this.latestOfPair = db.prepare<[string, string], { id: string; state: string; attempts: number; lease_until: number | null; coalesce: number; next_attempt_at: number }>(
      'SELECT id, state, attempts, lease_until, coalesce, next_attempt_at FROM outbox WHERE ticket_id = ? AND subcenter_id = ? ORDER BY rowid DESC LIMIT 1',
    );
    this.replaceOutbox = db.prepare(
      'UPDATE outbox SET id = @id, event = @event, body = @body, coalesce = @coalesce, next_attempt_at = @dueAt, lease_owner = NULL, lease_until = NULL WHERE id = @replaces',
    );
    this.pendingOfUnit = db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM outbox WHERE subcenter_id = ? AND state = 'pending'");
    this.oldestPendingOfUnit = db.prepare<[string], { id: string }>("SELECT id FROM outbox WHERE subcenter_id = ? AND state = 'pending' ORDER BY next_attempt_at, created_at LIMIT 1");
    this.giveUp = db.prepare("UPDATE outbox SET state = 'failed', last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?");
    this.dropAlerts = db.prepare('DELETE FROM ticket_alerts WHERE ticket_id = ?');
    this.insertAlert = db.prepare('INSERT OR IGNORE INTO ticket_alerts (fingerprint, ticket_id) VALUES (?, ?)');
    this.lastByAlertStmt = db.prepare<[string], { body: string }>('SELECT t.body FROM alert_last_ticket a JOIN tickets t ON t.id = a.ticket_id WHERE a.fingerprint = ?');
    this.markLast = db.prepare(
      'INSERT INTO alert_last_ticket (fingerprint, ticket_id, created_at) VALUES (?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE SET ticket_id = excluded.ticket_id, created_at = excluded.created_at WHERE excluded.created_at >= alert_last_ticket.created_at',
    );
    this.timersOf = db.prepare<[string], TimerRow>('SELECT * FROM ticket_timers WHERE ticket_id = ?');
    this.upsertTimer = db.prepare(
      'INSERT INTO ticket_timers (id, ticket_id, kind, due_at) VALUES (@id, @ticketId, @kind, @dueAt) ON CONFLICT(id) DO UPDATE SET ticket_id = excluded.ticket_id, kind = excluded.kind, due_at = excluded.due_at, lease_owner = NULL, lease_until = NULL',
    );
    this.dropTimer = db.prepare('DELETE FROM ticket_timers WHERE id = ?');
    this.upsertOrder = db.prepare(
      'INSERT INTO supervision_orders (id, ticket_id, subcenter_id, issued_to, status, created_at, body) VALUES (@id, @ticketId, @subcenterId, @issuedTo, @status, @createdAt, @body) ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body',
    );
    this.dropDepartments = db.prepare('DELETE FROM ticket_departments WHERE ticket_id = ?');
    this.insertDepartment = db.prepare('INSERT OR IGNORE INTO ticket_departments (department, ticket_id) VALUES (?, ?)');
    // A report joins one ticket: the first link stands.
    this.linkReport = db.prepare('UPDATE reports SET ticket_id = ? WHERE id = ? AND ticket_id IS NULL');
    this.saveTx = db.transaction((t: Ticket, outbox: readonly OutboxMessage[], effects: TicketSaveEffects) => {
      const row = { id: t.id, mergeKey: t.mergeKey, status: t.status, subcenterId: t.subcenterId, createdAt: t.createdAt, version: t.version, grade: t.grade, body: JSON.stringify(t) };
      if (t.version === 1) {
        this.insert.run(row);
      } else if (this.update.run(row).changes === 0) {
        throw new StreetWatchError('SW_ERR_TICKET_CONFLICT', [t.id]);
      }
      for (const m of outbox) this.writeMessage(m);
      this.dropAlerts.run(t.id);
      if (t.status !== 'closed') for (const a of t.alerts) this.insertAlert.run(a.fingerprint, t.id);
      for (const a of t.alerts) this.markLast.run(a.fingerprint, t.id, t.createdAt);
      this.dropDepartments.run(t.id);
      for (const d of involvedDepartments(t)) this.insertDepartment.run(d, t.id);
      for (const r of effects.reportLinks ?? []) this.linkReport.run(t.id, r);
      if (effects.timers) this.replaceTimers(t.id, effects.timers);
      for (const o of effects.supervisionOrders ?? []) {
        this.upsertOrder.run({ id: o.id, ticketId: o.ticketId, subcenterId: o.subcenterId, issuedTo: o.issuedTo, status: o.status, createdAt: o.createdAt, body: JSON.stringify(o) });
      }
    });
  }

  /**
   * Writes a message under the outbox policy: a coalescing message replaces the latest message
   * of its ticket to its unit while that one waits untried (not leased, never attempted, itself
   * coalescing), and is otherwise due a window after it; beyond the unit's backlog cap the
   * oldest pending message is given up.
   */
  private writeMessage(m: OutboxMessage): void {
    if (this.outboxExists.get(m.id)) return;
    const latest = this.latestOfPair.get(m.ticketId, m.subcenterId);
    const coalesce = m.coalesce === true ? 1 : 0;
    if (latest && latest.state === 'pending' && latest.attempts === 0 && latest.coalesce === 1 && (latest.lease_until === null || latest.lease_until <= m.createdAt)) {
      // The waiting message takes the latest state; a message that must not wait takes its place now.
      const dueAt = coalesce ? latest.next_attempt_at : Math.min(latest.next_attempt_at, m.createdAt);
      this.replaceOutbox.run({ id: m.id, event: m.event, body: m.body, coalesce, dueAt, replaces: latest.id });
      return;
    }
    const dueAt = coalesce && latest ? Math.max(m.createdAt, latest.next_attempt_at + this.policy.coalesceMs) : m.createdAt;
    this.insertOutbox.run({ ...m, dueAt, coalesce });
    if (this.pendingOfUnit.get(m.subcenterId)!.n > this.policy.maxPendingPerUnit) {
      const oldest = this.oldestPendingOfUnit.get(m.subcenterId);
      if (oldest) this.giveUp.run(`dropped: more than ${this.policy.maxPendingPerUnit} messages were waiting for this unit`, oldest.id);
    }
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

  async lastByAlert(fingerprint: string): Promise<Ticket | undefined> {
    const row = this.lastByAlertStmt.get(fingerprint);
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
    if (filter.subcenterId !== undefined) oneOf('subcenter_id', filter.subcenterId);
    if (filter.department !== undefined) {
      where.push('id IN (SELECT ticket_id FROM ticket_departments WHERE department = ?)');
      params.push(filter.department);
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
      if (outbox.length > 0) this.written.notify();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StreetWatchError('SW_ERR_TICKET_CONFLICT', [ticket.id], { cause: err });
      }
      throw err;
    }
  }
}
