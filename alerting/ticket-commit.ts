import { randomUUID } from 'node:crypto';
import type { CityIndex } from '../core/city-index.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, OutboxMessage, TicketStore } from '../core/ports.js';
import type { Ticket, TicketEvent } from '../core/schemas.js';

export interface CommitContext {
  tickets: TicketStore;
  bus: Bus;
  cityIndex: () => CityIndex;
  metrics: Metrics;
}

/**
 * Saves a ticket change with its webhook message in one transaction (a durable outbox: the
 * delivery cannot be lost even if the process dies right after), then announces it on
 * `sw.tickets`. Throws SW_ERR_TICKET_CONFLICT when someone else changed the ticket first.
 */
export async function commitTicket(ctx: CommitContext, ticket: Ticket, type: TicketEvent['type'], at: number): Promise<TicketEvent> {
  const event: TicketEvent = { id: randomUUID(), type, at, ticket };
  const outbox: OutboxMessage[] = [];
  const subcenter = ctx.cityIndex().subcenterById.get(ticket.subcenterId);
  if (subcenter?.webhook) {
    outbox.push({
      id: event.id,
      channel: 'webhook',
      subcenterId: ticket.subcenterId,
      ticketId: ticket.id,
      event: type,
      body: JSON.stringify({ event: type, id: event.id, at, ticket }),
      createdAt: at,
    });
  }
  await ctx.tickets.save(ticket, outbox);
  ctx.metrics.tickets.inc({ event: type });
  await announce(ctx.bus, event);
  return event;
}

export function announce(bus: Bus, event: TicketEvent): Promise<void> {
  return bus.publish('sw.tickets', [{ key: event.ticket.id, value: event }]);
}
