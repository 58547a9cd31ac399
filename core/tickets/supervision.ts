/**
 * Supervision orders (督办单), pure: issued to the parent center when a deadline is missed, then
 * acknowledged, commented on and closed by that center.
 */
import { swError } from '../errors.js';
import type { SupervisionOrder, SupervisionStatus, Ticket } from '../schemas.js';
import { appendTimeline } from './timeline.js';

export const SUPERVISION_TRANSITIONS: Readonly<Record<SupervisionStatus, readonly SupervisionStatus[]>> = {
  issued: ['acknowledged', 'closed'],
  acknowledged: ['closed'],
  closed: [],
};

export type SupervisionAction = 'acknowledge' | 'note' | 'close';

/** Order ids follow the ticket's: `SW-20261121-7KQ2M9-S1`, the n-th order about that ticket. */
export function supervisionOrderId(ticket: Ticket): string {
  return `${ticket.id}-S${ticket.supervisionOrderIds.length + 1}`;
}

/** `department`: the co-handling department that missed its check-in (`checkin_overdue`). */
export function issueSupervisionOrder(ticket: Ticket, reason: SupervisionOrder['reason'], deadline: number, issuedTo: string, now: number, department?: string): SupervisionOrder {
  const what = reason === 'response_overdue' ? 'response' : reason === 'resolution_overdue' ? 'resolution' : 'check-in';
  const who = department ?? ticket.subcenterId;
  return {
    ...(department === undefined ? {} : { department }),
    id: supervisionOrderId(ticket),
    ticketId: ticket.id,
    subcenterId: ticket.subcenterId,
    issuedTo,
    reason,
    deadline,
    status: 'issued',
    createdAt: now,
    updatedAt: now,
    timeline: [{ at: now, actor: 'system', action: 'issued', note: `${who} missed the ${what} deadline ${new Date(deadline).toISOString()} of ${ticket.id}` }],
  };
}

export function actOnOrder(order: SupervisionOrder, action: SupervisionAction, actor: string, now: number, note?: string): SupervisionOrder {
  const to: SupervisionStatus | undefined = action === 'acknowledge' ? 'acknowledged' : action === 'close' ? 'closed' : undefined;
  if (to !== undefined && !SUPERVISION_TRANSITIONS[order.status].includes(to)) throw swError('SW_ERR_SUPERVISION_TRANSITION', order.id, order.status, to);
  if (to === undefined && order.status === 'closed') throw swError('SW_ERR_SUPERVISION_TRANSITION', order.id, order.status, 'note');
  const entry = note === undefined ? { at: now, actor, action: to ?? 'note' } : { at: now, actor, action: to ?? 'note', note };
  return { ...order, status: to ?? order.status, updatedAt: now, timeline: appendTimeline(order.timeline, entry) };
}
