import type { SupervisionStore } from '../core/ports.js';
import type { Ticket } from '../core/schemas.js';
import type { ApiPrincipal } from './context.js';

/**
 * How the caller stands to a ticket: the admin; the holder (the unit it is assigned to); or a
 * supervisor, a center holding a supervision order about it. Anyone else does not see it at all.
 */
export type TicketRole = 'admin' | 'holder' | 'supervisor';

export async function ticketRole(principal: ApiPrincipal | null, ticket: Ticket, supervision: SupervisionStore): Promise<TicketRole | undefined> {
  if (!principal || principal.role === 'display') return undefined;
  if (principal.role === 'admin') return 'admin';
  if (ticket.subcenterId === principal.unitId) return 'holder';
  for (const id of ticket.supervisionOrderIds) {
    if ((await supervision.get(id))?.issuedTo === principal.unitId) return 'supervisor';
  }
  return undefined;
}
