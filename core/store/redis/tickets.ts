import { StreetWatchError } from '../../errors.js';
import type { OutboxMessage, OutboxPolicy, TicketFilter, TicketSaveEffects, TicketStore } from '../../ports.js';
import type { Ticket } from '../../schemas.js';
import type { Signal } from '../../signal.js';
import { involvedDepartments } from '../../tickets/joint.js';
import { CHUNK, DEFAULT_LIST_LIMIT, type Ctx } from './context.js';

export class RedisTickets implements TicketStore {
  constructor(
    private readonly c: Ctx,
    private readonly policy: OutboxPolicy,
    /** Told of every save that wrote messages (Outbox.onWritten). */
    private readonly written: Signal,
  ) {}

  get(id: string): Promise<Ticket | undefined> {
    return this.c.run(async () => parseTicket(await this.c.redis.hget(this.c.keys.ticket(id), 'body')));
  }

  findOpen(mergeKey: string): Promise<Ticket | undefined> {
    // One script, so the ticket read is the one that holds the key at that moment.
    return this.c.run(async () => parseTicket((await this.c.script('findOpen')(1, this.c.keys.openTicket(mergeKey), this.c.keys.ticket(''))) as string | null));
  }

  findOpenByAlert(fingerprint: string): Promise<Ticket | undefined> {
    return this.c.run(async () => parseTicket((await this.c.script('findOpenByAlert')(1, this.c.keys.alertIndex(fingerprint), this.c.keys.ticket(''))) as string | null));
  }

  lastByAlert(fingerprint: string): Promise<Ticket | undefined> {
    return this.c.run(async () => {
      const id = await this.c.redis.hget(this.c.keys.lastTicketOfAlert(fingerprint), 'id');
      return id === null ? undefined : parseTicket(await this.c.redis.hget(this.c.keys.ticket(id), 'body'));
    });
  }

  list(filter: TicketFilter = {}): Promise<Ticket[]> {
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    const statuses = filter.status === undefined ? [] : Array.isArray(filter.status) ? filter.status : [filter.status];
    const grades = filter.grade === undefined ? [] : Array.isArray(filter.grade) ? filter.grade : [filter.grade];
    const holders = filter.subcenterId === undefined ? undefined : Array.isArray(filter.subcenterId) ? filter.subcenterId : [filter.subcenterId];
    // An empty list allows nothing (as SQL's IN ()).
    if ((Array.isArray(filter.status) && statuses.length === 0) || (Array.isArray(filter.grade) && grades.length === 0) || holders?.length === 0 || limit <= 0) return Promise.resolve([]);
    const status = statuses.length === 1 ? statuses[0] : undefined;
    // The narrowest index that holds every match; the script checks the rest of the filter.
    // Several holders without a department: one walk per holder's index, merged.
    const walks: { index: string; holders: readonly string[] }[] =
      filter.department !== undefined
        ? [{ index: this.c.keys.departmentIndex(filter.department), holders: holders ?? [] }]
        : holders === undefined
          ? [{ index: this.c.keys.ticketIndex(undefined, status), holders: [] }]
          : [...new Set(holders)].map((h) => ({ index: this.c.keys.ticketIndex(h, status), holders: [] }));
    const max = filter.createdTo === undefined ? '+inf' : `(${filter.createdTo}`;
    const min = filter.createdFrom === undefined ? '-inf' : String(filter.createdFrom);
    return this.c.run(async () => {
      const ids: string[] = [];
      for (const w of walks) {
        ids.push(...((await this.c.script('listTickets')(1, w.index, this.c.keys.ticket(''), max, min, limit, statuses.length, ...statuses, grades.length, ...grades, w.holders.length, ...w.holders)) as string[]));
      }
      const tickets: Ticket[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const pipe = this.c.redis.pipeline();
        for (const id of ids.slice(i, i + CHUNK)) pipe.hget(this.c.keys.ticket(id), 'body');
        for (const [err, body] of (await pipe.exec()) ?? []) {
          if (err) throw err;
          const t = parseTicket(body as string | null);
          if (t) tickets.push(t);
        }
      }
      // The embedded store's order: newest first, then by id.
      tickets.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return tickets.slice(0, limit);
    });
  }

  save(ticket: Ticket, outbox: readonly OutboxMessage[] = [], effects: TicketSaveEffects = {}): Promise<void> {
    const args: (string | number)[] = [
      this.c.keys.prefix,
      ticket.id,
      ticket.version,
      ticket.mergeKey,
      ticket.status,
      ticket.subcenterId,
      ticket.createdAt,
      ticket.grade,
      JSON.stringify(ticket),
      this.policy.coalesceMs,
      this.policy.maxPendingPerUnit,
    ];
    const fingerprints = [...new Set(ticket.alerts.map((a) => a.fingerprint))];
    args.push(fingerprints.length, ...fingerprints);
    args.push(outbox.length);
    for (const m of outbox) args.push(m.id, m.channel, m.subcenterId, m.ticketId, m.event, m.body, m.createdAt, m.coalesce === true ? '1' : '0');
    if (effects.timers === undefined) args.push(-1);
    else {
      args.push(effects.timers.length);
      for (const t of effects.timers) args.push(t.id, t.ticketId, t.kind, t.dueAt);
    }
    const orders = effects.supervisionOrders ?? [];
    args.push(orders.length);
    for (const o of orders) args.push(o.id, o.ticketId, o.subcenterId, o.issuedTo, o.status, o.createdAt, JSON.stringify(o));
    const departments = involvedDepartments(ticket);
    args.push(departments.length, ...departments);
    const links = effects.reportLinks ?? [];
    args.push(links.length, ...links);
    return this.c.run(async () => {
      const result = await this.c.script('saveTicket')(0, ...args);
      if (result === 'CONFLICT') throw new StreetWatchError('SW_ERR_TICKET_CONFLICT', [ticket.id]);
      if (outbox.length > 0) this.written.notify();
    });
  }
}

function parseTicket(body: string | null | undefined): Ticket | undefined {
  return body ? (JSON.parse(body) as Ticket) : undefined;
}
