import type { CityIndex } from '../city-index.js';
import { isStreetWatchError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Bus, OutboxMessage, TicketStore } from '../ports.js';
import type { SupervisionOrder, Ticket, TicketEvent, TicketEventType } from '../schemas.js';
import { ticketMessage } from '../ticket-message.js';
import { watchersOf } from './parties.js';
import { timersFor } from './timers.js';
import { unitById } from './units.js';

/** Attempts at a ticket change that lost an optimistic-concurrency race. */
export const MAX_CONFLICT_RETRIES = 5;

export interface CommitContext {
  tickets: TicketStore;
  bus: Bus;
  cityIndex: () => CityIndex;
  metrics: Metrics;
}

export interface CommitOptions {
  /** Units to tell besides the holder (the previous holder, the supervising center). */
  recipients?: readonly string[];
  /** The supervision order issued or acted on: saved with the ticket and carried by the event. */
  supervisionOrder?: SupervisionOrder;
  /** Saved and counted, sent to nobody: a further change of a flapping alert (see AlertChange). */
  quiet?: boolean;
  /** People's reports this change merged in: linked to the ticket in the same save. */
  reportLinks?: readonly string[];
}

/** Events that may coalesce into a later change's delivery: the ticket's state, nothing a unit must act on by itself. */
const COALESCING_EVENTS: ReadonlySet<TicketEventType> = new Set(['ticket.updated']);

/** A ticket event's id: the ticket and its version, so announcing the same change twice gives the same id. */
export function ticketEventId(ticket: Pick<Ticket, 'id' | 'version'>): string {
  return `${ticket.id}/v${ticket.version}`;
}

/** A webhook message's id (its Idempotency-Key): the change and the unit it goes to. */
export function outboxMessageId(ticket: Pick<Ticket, 'id' | 'version'>, to: string): string {
  return `${ticketEventId(ticket)}/${to}`;
}

/**
 * Saves a ticket change atomically with everything that must not be lost with it: a webhook
 * message per recipient (the durable outbox), the ticket's timers from its new state, and the
 * supervision order. Then announces it on `sw.tickets`. Throws SW_ERR_TICKET_CONFLICT when
 * someone else changed the ticket first. Ids derive from the ticket, its version and the
 * recipient, so the same change can never be sent under two keys.
 */
export async function commitTicket(ctx: CommitContext, ticket: Ticket, type: TicketEventType, at: number, opts: CommitOptions = {}): Promise<TicketEvent> {
  const index = ctx.cityIndex();
  const recipients = [...new Set([ticket.subcenterId, ...watchersOf(ticket, index), ...(opts.recipients ?? [])])];
  const event: TicketEvent = { id: ticketEventId(ticket), type, at, ticket, recipients };
  if (opts.supervisionOrder) event.supervisionOrder = opts.supervisionOrder;
  const outbox: OutboxMessage[] = [];
  for (const to of opts.quiet ? [] : recipients) {
    if (!unitById(index, to)?.webhook) continue;
    outbox.push({
      id: outboxMessageId(ticket, to),
      channel: 'webhook',
      subcenterId: to,
      ticketId: ticket.id,
      event: type,
      body: JSON.stringify(ticketMessage(event, to)),
      createdAt: at,
      coalesce: COALESCING_EVENTS.has(type),
    });
  }
  const supervisionOrders = opts.supervisionOrder ? [opts.supervisionOrder] : [];
  await ctx.tickets.save(ticket, outbox, { timers: timersFor(ticket, index.city.sla), supervisionOrders, ...(opts.reportLinks ? { reportLinks: opts.reportLinks } : {}) });
  ctx.metrics.tickets.inc({ event: opts.quiet ? 'quiet' : type });
  if (!opts.quiet) await announce(ctx.bus, event);
  return event;
}

export function announce(bus: Bus, event: TicketEvent): Promise<void> {
  return bus.publish('sw.tickets', [{ key: event.ticket.id, value: event }]);
}

/** Runs a ticket change again from a fresh read when another writer got there first. */
export async function withConflictRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isStreetWatchError(err, 'SW_ERR_TICKET_CONFLICT') || n >= MAX_CONFLICT_RETRIES) throw err;
    }
  }
}
