import type { TicketEvent, TicketMessage } from './schemas.js';
import { supervisionOrderView, ticketView } from './tickets/view.js';

/**
 * What a unit receives about a ticket event, on its webhook and on its MQTT tickets topic: the
 * event addressed to that unit, with a bounded view of the ticket (core/tickets/view.ts) whose
 * `href` leads to the whole ticket.
 */
export function ticketMessage(event: TicketEvent, to: string): TicketMessage {
  const body: TicketMessage = { event: event.type, id: event.id, at: event.at, to, ticket: ticketView(event.ticket) };
  if (event.supervisionOrder) body.supervisionOrder = supervisionOrderView(event.supervisionOrder);
  return body;
}
