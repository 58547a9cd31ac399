import type { TimerStore } from '../../ports.js';
import type { TicketTimer, TimerKind } from '../../schemas.js';
import type { Ctx } from './context.js';

export class RedisTimers implements TimerStore {
  constructor(private readonly c: Ctx) {}

  claimDue(now: number, limit: number, owner: string, leaseMs: number): Promise<TicketTimer[]> {
    return this.c.run(async () => {
      const ids = (await this.c.script('claim')(1, this.c.keys.timersDue, this.c.keys.timer(''), now, limit, owner, now + leaseMs)) as string[];
      return this.read(ids);
    });
  }

  complete(id: string, owner: string): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('completeTimer')(2, this.c.keys.timer(id), this.c.keys.timersDue, id, owner, this.c.keys.timersOf(''))) === 1);
  }

  forTicket(ticketId: string): Promise<TicketTimer[]> {
    // By due time, then id: the sorted set's own order.
    return this.c.run(async () => this.read(await this.c.redis.zrange(this.c.keys.timersOf(ticketId), '0', '-1')));
  }

  private async read(ids: readonly string[]): Promise<TicketTimer[]> {
    if (ids.length === 0) return [];
    const pipe = this.c.redis.pipeline();
    for (const id of ids) pipe.hmget(this.c.keys.timer(id), 'tid', 'kind', 'due');
    const replies = (await pipe.exec()) ?? [];
    const out: TicketTimer[] = [];
    ids.forEach((id, i) => {
      const [err, fields] = replies[i] ?? [];
      if (err) throw err;
      const [ticketId, kind, due] = fields as (string | null)[];
      if (ticketId && kind && due) out.push({ id, ticketId, kind: kind as TimerKind, dueAt: Number(due) });
    });
    return out;
  }
}
