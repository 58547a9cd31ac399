import type { Outbox, OutboxItem } from '../../ports.js';
import type { Signal } from '../../signal.js';
import type { Ctx } from './context.js';

export class RedisOutbox implements Outbox {
  constructor(
    private readonly c: Ctx,
    private readonly written: Signal,
  ) {}

  onWritten(listener: () => void): () => void {
    return this.written.on(listener);
  }

  due(now: number, limit: number): Promise<OutboxItem[]> {
    return this.c.run(async () => {
      const ids = await this.c.redis.zrange(this.c.keys.outboxDue, '-inf', String(now), 'BYSCORE', 'LIMIT', '0', String(limit));
      const items = await this.read(ids);
      return items.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt);
    });
  }

  receiversDue(now: number, limit: number): Promise<string[]> {
    return this.c.run(() => this.c.redis.zrange(this.c.keys.outboxUnits, '-inf', String(now), 'BYSCORE', 'LIMIT', '0', String(limit)));
  }

  claim(receiver: string, now: number, limit: number, owner: string, leaseMs: number): Promise<OutboxItem[]> {
    return this.c.run(async () => {
      const ids = (await this.c.script('claim')(1, this.c.keys.outboxDueOf(receiver), this.c.keys.outboxItem(''), now, limit, owner, now + leaseMs)) as string[];
      const items = await this.read(ids);
      return items.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt);
    });
  }

  forTicket(ticketId: string): Promise<OutboxItem[]> {
    return this.c.run(async () => this.read(await this.c.redis.zrange(this.c.keys.outboxOf(ticketId), '0', '-1')));
  }

  markDelivered(id: string, at: number): Promise<void> {
    return this.c.run(async () => void (await this.c.script('markDelivered')(0, this.c.keys.prefix, id, at)));
  }

  markFailed(id: string, attempts: number, nextAttemptAt: number | null, error: string): Promise<void> {
    return this.c.run(
      async () =>
        void (await this.c.script('markFailed')(0, this.c.keys.prefix, id, attempts, nextAttemptAt ?? '', error.slice(0, 500))),
    );
  }

  pruneSettled(before: number, limit: number): Promise<number> {
    return this.c.run(async () => Number(await this.c.script('pruneSettled')(0, this.c.keys.prefix, before, limit)));
  }

  get(id: string): Promise<OutboxItem | undefined> {
    return this.c.run(async () => (await this.read([id]))[0]);
  }

  private async read(ids: readonly string[]): Promise<OutboxItem[]> {
    if (ids.length === 0) return [];
    const pipe = this.c.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.c.keys.outboxItem(id));
    const replies = (await pipe.exec()) ?? [];
    const out: OutboxItem[] = [];
    ids.forEach((id, i) => {
      const [err, h] = replies[i] ?? [];
      if (err) throw err;
      const item = toOutboxItem(id, h as Record<string, string>);
      if (item) out.push(item);
    });
    return out;
  }
}

function toOutboxItem(id: string, h: Record<string, string> | null | undefined): OutboxItem | undefined {
  if (!h || h.state === undefined) return undefined;
  return {
    id,
    channel: h.channel as OutboxItem['channel'],
    subcenterId: h.sc!,
    ticketId: h.tid!,
    event: h.event!,
    body: h.body!,
    createdAt: Number(h.ca),
    attempts: Number(h.attempts),
    nextAttemptAt: Number(h.next),
    lastError: h.err ?? null,
    state: h.state as OutboxItem['state'],
  };
}
