import type Database from 'better-sqlite3';
import type { TimerStore } from '../../ports.js';
import type { TicketTimer, TimerKind } from '../../schemas.js';

export interface TimerRow {
  id: string;
  ticket_id: string;
  kind: TimerKind;
  due_at: number;
  lease_owner: string | null;
  lease_until: number | null;
}

export class SqliteTimers implements TimerStore {
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
