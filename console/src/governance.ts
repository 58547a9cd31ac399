/**
 * What the governance loop means on the screen, pure: how the signed-in token stands to a
 * ticket (holder, lead or co-handling department, the center above), which moves of joint
 * handling, returns and extensions it may offer, and where a co-handler's check-in stands. The
 * server decides in the end (docs/TICKETS.md, sections 10 to 14); this only avoids offering
 * what it would refuse.
 */
import type { CoHandler, Ticket } from '../../core/schemas.js';
import { pendingExtension } from '../../core/tickets/extensions.js';
import { pendingCoHandlers } from '../../core/tickets/joint.js';
import { pendingReturn } from '../../core/tickets/returns.js';
import { WORKING } from '../../core/tickets/statuses.js';
import type { LocalUnit, Principal, TicketAction } from './api.js';
import { deadlineState, type DeadlineState } from './tickets.js';

export { pendingCoHandlers, pendingExtension, pendingReturn };

/** How the token stands to a ticket, as far as the console needs to know. */
export type Standing = 'admin' | 'holder' | 'lead' | 'co-handler' | 'above' | 'other';

/** Whether `unit` sees what `holder` holds: itself, or the sub-center or community above it. */
export function isAbove(localUnits: readonly LocalUnit[], unit: string, holder: string): boolean {
  if (unit === holder) return true;
  const local = localUnits.find((u) => u.id === holder);
  return local !== undefined && (local.subcenter === unit || local.community === unit);
}

export function standing(ticket: Ticket, principal: Principal, localUnits: readonly LocalUnit[]): Standing {
  switch (principal.role) {
    case 'admin':
      return 'admin';
    case 'department': {
      if (ticket.department === principal.department) return 'lead';
      const c = ticket.coHandlers?.find((x) => x.department === principal.department);
      return c && c.status !== 'released' ? 'co-handler' : 'other';
    }
    case 'unit':
      if (ticket.subcenterId === principal.unitId) return 'holder';
      return isAbove(localUnits, principal.unitId, ticket.subcenterId) ? 'above' : 'other';
    default:
      return 'other';
  }
}

/** Those who act for the holder: its unit, its lead department, the admin. */
export const holderSide = (s: Standing): boolean => s === 'admin' || s === 'holder' || s === 'lead';

/**
 * The status moves to offer, from those the lifecycle allows: only the holder's side moves a
 * ticket; a reported ticket is closed by its reporter (the district once the reporter's time
 * ran out, or the admin), not by its holder.
 */
export function offeredActions(ticket: Ticket, s: Standing, lifecycle: readonly TicketAction[], isDistrict: boolean): TicketAction[] {
  return lifecycle.filter((a) => {
    // The holder, a center above it or holding a supervision order about it (`other` units that see it), the admin.
    if (a === 'reassign') return s === 'admin' || s === 'holder' || s === 'above' || s === 'other';
    if (a === 'close' && ticket.origin === 'report') return s === 'admin' || (isDistrict && ticket.confirmationTimedOut?.resolvedAt === ticket.resolvedAt);
    return holderSide(s);
  });
}

/** A co-handler's own next moves: check in once summoned, then feedback and finish. */
export function coHandlerMoves(c: CoHandler): ('check-in' | 'feedback' | 'finish')[] {
  if (c.status === 'summoned') return ['check-in'];
  if (c.status === 'checked_in') return ['feedback', 'finish'];
  return [];
}

/** Where a co-handler's check-in deadline stands: met when it checked in, missed past it. */
export function checkInState(c: CoHandler, now: number): DeadlineState {
  return deadlineState(c.checkInBy, c.checkedInAt, now);
}

/** The joint moves the holder's side may make now. */
export function holderTools(ticket: Ticket, s: Standing, districtId: string, now: number): { summon: boolean; release: boolean; returnIt: boolean; extend: boolean } {
  const working = WORKING.has(ticket.status);
  return {
    summon: holderSide(s) && working,
    release: holderSide(s) && pendingCoHandlers(ticket).length > 0,
    // A return is the holder's own claim (not the admin's); the district holding it reassigns instead.
    returnIt: (s === 'holder' || s === 'lead') && working && !pendingReturn(ticket) && ticket.subcenterId !== districtId,
    extend: holderSide(s) && working && !pendingExtension(ticket) && !pendingReturn(ticket) && now < ticket.resolveBy,
  };
}

/** Whether the token rules on the ticket's waiting return: the district holding it, or the admin. */
export function rulesOnReturn(ticket: Ticket, principal: Principal, districtId: string): boolean {
  if (!pendingReturn(ticket)) return false;
  return principal.role === 'admin' || (principal.role === 'unit' && principal.unitId === districtId && ticket.subcenterId === districtId);
}

/** Whether the token decides the ticket's waiting request for more time. */
export function decidesExtension(ticket: Ticket, principal: Principal): boolean {
  const ext = pendingExtension(ticket);
  if (!ext) return false;
  return principal.role === 'admin' || (principal.role === 'unit' && ext.approver === principal.unitId);
}

/** Tickets in which this department is a co-handler still at work, the summoned ones first. */
export function myJointTickets(tickets: readonly Ticket[], department: string): { ticket: Ticket; mine: CoHandler }[] {
  const out: { ticket: Ticket; mine: CoHandler }[] = [];
  for (const t of tickets) {
    const mine = t.coHandlers?.find((c) => c.department === department && c.status !== 'released');
    if (mine) out.push({ ticket: t, mine });
  }
  const rank = { summoned: 0, checked_in: 1, finished: 2, released: 3 } as const;
  return out.sort((a, b) => rank[a.mine.status] - rank[b.mine.status] || a.mine.checkInBy - b.mine.checkInBy);
}

/** Whether a ticket is in joint handling: some co-handler has not finished. */
export const inJointHandling = (t: Ticket): boolean => t.status !== 'closed' && pendingCoHandlers(t).length > 0;
