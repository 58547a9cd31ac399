import type Database from 'better-sqlite3';
import type { Outbox, OutboxItem } from '../../ports.js';
import type { Signal } from '../../signal.js';

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

export class SqliteOutbox implements Outbox {
  private readonly dueStmt;
  private readonly receiversStmt;
  private readonly claimTx;
  private readonly delivered;
  private readonly failed;
  private readonly byId;
  private readonly ofTicket;
  private readonly prune;

  constructor(
    db: Database.Database,
    private readonly written: Signal,
  ) {
    this.dueStmt = db.prepare<[number, number], OutboxRow>(
      "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?",
    );
    this.receiversStmt = db.prepare<[number, number], { unit: string }>(
      "SELECT subcenter_id AS unit, min(next_attempt_at) AS due FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? GROUP BY subcenter_id ORDER BY due, unit LIMIT ?",
    );
    const claimable = db.prepare<[string, number, number, number], { id: string }>(
      "SELECT id FROM outbox WHERE subcenter_id = ? AND state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, created_at LIMIT ?",
    );
    const lease = db.prepare<[string, number, string], OutboxRow>('UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ? RETURNING *');
    this.claimTx = db.transaction((receiver: string, now: number, limit: number, owner: string, leaseMs: number) =>
      claimable.all(receiver, now, now, limit).map(({ id }) => lease.get(owner, now + leaseMs, id)!),
    );
    this.delivered = db.prepare(
      "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, next_attempt_at = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?",
    );
    this.failed = db.prepare(
      "UPDATE outbox SET attempts = ?, next_attempt_at = coalesce(?, next_attempt_at), state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
    );
    this.byId = db.prepare<[string], OutboxRow>('SELECT * FROM outbox WHERE id = ?');
    this.ofTicket = db.prepare<[string], OutboxRow>('SELECT * FROM outbox WHERE ticket_id = ? ORDER BY created_at, id');
    this.prune = db.prepare("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state <> 'pending' AND next_attempt_at < ? LIMIT ?)");
  }

  async due(now: number, limit: number): Promise<OutboxItem[]> {
    return this.dueStmt.all(now, limit).map(toOutboxItem);
  }

  async receiversDue(now: number, limit: number): Promise<string[]> {
    return this.receiversStmt.all(now, limit).map((r) => r.unit);
  }

  async claim(receiver: string, now: number, limit: number, owner: string, leaseMs: number): Promise<OutboxItem[]> {
    return this.claimTx.immediate(receiver, now, limit, owner, leaseMs).map(toOutboxItem);
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

  async pruneSettled(before: number, limit: number): Promise<number> {
    return this.prune.run(before, limit).changes;
  }

  onWritten(listener: () => void): () => void {
    return this.written.on(listener);
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
