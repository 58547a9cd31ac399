import type { TicketEvent } from './schemas.js';

/**
 * What a unit receives about a ticket event, on its webhook and on its MQTT tickets topic: the
 * event addressed to that unit.
 */
export function ticketMessage(event: TicketEvent, to: string): Record<string, unknown> {
  const body: Record<string, unknown> = { event: event.type, id: event.id, at: event.at, to, ticket: event.ticket };
  if (event.supervisionOrder) body.supervisionOrder = event.supervisionOrder;
  return body;
}
