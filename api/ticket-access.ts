import type { FastifyRequest } from 'fastify';
import type { CityIndex } from '../core/city-index.js';
import { swError } from '../core/errors.js';
import type { SupervisionStore } from '../core/ports.js';
import type { Ticket, TicketEventType } from '../core/schemas.js';
import { commitTicket, withConflictRetry, type CommitContext, type CommitOptions } from '../core/tickets/commit.js';
import { pendingExtension } from '../core/tickets/extensions.js';
import { coHandlerOf } from '../core/tickets/joint.js';
import { awaitsDistrict } from '../core/tickets/reports.js';
import { isAbove } from '../core/tickets/units.js';
import type { ApiContext, ApiPrincipal } from './context.js';
import type { RouteContext } from './route-table.js';

/**
 * How the caller stands to a ticket. The admin. A unit: the `holder`; a `supervisor` (a center
 * holding a supervision order about it, or the sub-center or community above the community or
 * grid that holds it); the `approver` of a request for more time waiting on it; the `district`
 * once a reporter's time to confirm ran out. A department: the `lead`, or a `co-handler` not
 * released. Anyone else does not see the ticket at all.
 */
export type TicketRole = 'admin' | 'holder' | 'supervisor' | 'approver' | 'district' | 'lead' | 'co-handler';

export async function ticketRole(principal: ApiPrincipal | null, ticket: Ticket, supervision: SupervisionStore, index: CityIndex): Promise<TicketRole | undefined> {
  if (!principal) return undefined;
  switch (principal.role) {
    case 'admin':
      return 'admin';
    // A wall screen reads lists, never a ticket's detail; a reporter key reads its reports.
    case 'display':
    case 'reporter':
      return undefined;
    case 'department': {
      if (ticket.department === principal.department) return 'lead';
      const c = coHandlerOf(ticket, principal.department);
      return c && c.status !== 'released' ? 'co-handler' : undefined;
    }
    case 'unit': {
      const unit = principal.unitId;
      if (ticket.subcenterId === unit) return 'holder';
      if (isAbove(index, unit, ticket.subcenterId)) return 'supervisor';
      for (const id of ticket.supervisionOrderIds) {
        if ((await supervision.get(id))?.issuedTo === unit) return 'supervisor';
      }
      if (pendingExtension(ticket)?.approver === unit) return 'approver';
      if (unit === index.city.district.id && awaitsDistrict(ticket)) return 'district';
      return undefined;
    }
  }
}

/** The ticket and how the caller stands to it; 404 when the caller may not see it. */
export async function visibleTicket(req: FastifyRequest, id: string, ctx: Pick<ApiContext, 'state' | 'cityIndex'>): Promise<{ ticket: Ticket; role: TicketRole }> {
  const ticket = await ctx.state.tickets.get(id);
  const role = ticket && (await ticketRole(req.principal, ticket, ctx.state.supervision, ctx.cityIndex()));
  if (!ticket || !role) throw swError('SW_ERR_NOT_FOUND', `ticket ${id}`);
  return { ticket, role };
}

/** A change to commit: the ticket as changed, its event, and whom to tell besides the holder and watchers. */
export interface TicketChange {
  ticket: Ticket;
  type: TicketEventType;
  recipients?: string[];
}

/** The roles that act for the ticket's holder: its unit, its lead department, the admin. */
export const HOLDER_SIDE: readonly TicketRole[] = ['admin', 'holder', 'lead'];

/**
 * Applies a change from a fresh read, again if another writer got there first. `roles` may
 * make it (403 otherwise, saying `what` and who can); `change` decides, from the ticket as it
 * is now.
 */
export function actOnTicket(
  req: FastifyRequest,
  ctx: RouteContext,
  id: string,
  roles: readonly TicketRole[],
  what: string,
  change: (t: Ticket, now: number, role: TicketRole) => TicketChange,
): Promise<Ticket> {
  const commit: CommitContext = { tickets: ctx.state.tickets, bus: ctx.bus, cityIndex: ctx.cityIndex, metrics: ctx.metrics };
  return withConflictRetry(async () => {
    const { ticket, role } = await visibleTicket(req, id, ctx);
    if (!roles.includes(role)) throw swError('SW_ERR_FORBIDDEN', `${what} ticket ${id} (it may: ${roles.filter((r) => r !== 'admin').join(', ') || 'the admin'})`);
    const now = ctx.clock.now();
    const c = change(ticket, now, role);
    const opts: CommitOptions = c.recipients ? { recipients: c.recipients } : {};
    await commitTicket(commit, c.ticket, c.type, now, opts);
    return c.ticket;
  });
}

/** Whether the caller may act as this co-handling department: the department itself, or the admin. */
export function assertCoHandler(req: FastifyRequest, department: string, ticketId: string): void {
  const p = req.principal;
  if (p?.role === 'admin') return;
  if (p?.role !== 'department' || p.department !== department) throw swError('SW_ERR_FORBIDDEN', `act as co-handler ${department} of ticket ${ticketId}`);
}
