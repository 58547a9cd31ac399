/**
 * Returns (退单), pure. The holder (or the lead department) returns a ticket it holds as not
 * its responsibility, with a reason; the ticket goes to the district command center, which
 * rules: it re-dispatches the ticket to another unit or department (the return is upheld) or
 * sends it back to the returner (rejected). Bounces are limited: a party whose return was sent
 * back may not return that ticket again, and a ticket takes at most `maxPerTicket` returns;
 * then the district's last ruling stands.
 */
import type { GovernancePolicy, Sla } from '../city.js';
import { swError } from '../errors.js';
import type { Ticket, TicketReturn } from '../schemas.js';
import { redispatch, remember } from './lifecycle.js';
import { WORKING } from './statuses.js';
import { appendTimeline } from './timeline.js';

export interface ReturnContext {
  sla: Sla;
  /** The district command center: where returns go. */
  districtId: string;
  policy: GovernancePolicy['returns'];
}

export function pendingReturn(ticket: Ticket): TicketReturn | undefined {
  const last = ticket.returns?.at(-1);
  return last && last.ruling === null ? last : undefined;
}

/** `party` is who returns it: `unit:<holder>` or `department:<lead>`. */
export function returnTicket(ticket: Ticket, party: string, reason: string, now: number, ctx: ReturnContext): Ticket {
  if (!WORKING.has(ticket.status)) throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, 'returned');
  if (pendingReturn(ticket)) throw swError('SW_ERR_RETURN_REFUSED', ticket.id, 'a return is already waiting for the district\'s ruling');
  if (ticket.subcenterId === ctx.districtId && party === `unit:${ctx.districtId}`) throw swError('SW_ERR_RETURN_REFUSED', ticket.id, 'the district command center holds it: reassign it instead');
  const returns = ticket.returns ?? [];
  if (returns.some((r) => r.party === party && r.ruling?.decision === 'sent_back')) {
    throw swError('SW_ERR_RETURN_LIMIT', ticket.id, `the district already ruled that ${party} handles it`);
  }
  if (returns.length >= ctx.policy.maxPerTicket) throw swError('SW_ERR_RETURN_LIMIT', ticket.id, `it was returned ${returns.length} times, the most a ticket may be: the district's last ruling stands`);
  const ret: TicketReturn = { at: now, party, subcenterId: ticket.subcenterId, department: ticket.department, reason, ruling: null };
  const moved = redispatch(ticket, ctx.districtId, now, { sla: ctx.sla, fallbackId: ctx.districtId });
  return {
    ...moved,
    // A return is no routing fallback: the location is still where it was.
    routedToFallback: ticket.routedToFallback,
    returns: [...returns, ret],
    updatedAt: now,
    timeline: appendTimeline(moved.timeline, { at: now, actor: party, action: 'returned', note: `${ticket.subcenterId} → ${ctx.districtId}: ${reason}` }),
    version: ticket.version + 1,
  };
}

export type ReturnRuling =
  | { decision: 'reassigned'; subcenterId?: string | undefined; department?: string | undefined; note: string }
  | { decision: 'sent_back'; note: string };

/**
 * The district's ruling on the waiting return. `reassigned`: to another unit and/or department
 * (each defaults to the returner's); `sent_back`: the returner keeps it. Either way the new
 * holder must acknowledge it again; the resolution deadline stays.
 */
export function ruleOnReturn(ticket: Ticket, ruling: ReturnRuling, actor: string, now: number, ctx: ReturnContext): Ticket {
  const pending = pendingReturn(ticket);
  if (!pending) throw swError('SW_ERR_RETURN_REFUSED', ticket.id, 'no return is waiting for a ruling');
  let holder = pending.subcenterId;
  let department = pending.department;
  if (ruling.decision === 'reassigned') {
    holder = ruling.subcenterId ?? holder;
    department = ruling.department ?? department;
    if (holder === pending.subcenterId && department === pending.department) {
      throw swError('SW_ERR_RETURN_REFUSED', ticket.id, 'a re-dispatch names another unit or department; to keep it with the returner, send it back');
    }
  }
  const ruled: TicketReturn = { ...pending, ruling: { at: now, by: actor, decision: ruling.decision, note: ruling.note, subcenterId: holder, department } };
  const moved = redispatch(ticket, holder, now, { sla: ctx.sla, fallbackId: ctx.districtId });
  const what = ruling.decision === 'reassigned' ? `upheld: → ${holder}, department ${department}` : `sent back to ${holder}, department ${department}`;
  return {
    ...moved,
    routedToFallback: holder === ctx.districtId ? ticket.routedToFallback : false,
    department,
    leads: remember(ticket.leads, department),
    returns: [...ticket.returns!.slice(0, -1), ruled],
    updatedAt: now,
    timeline: appendTimeline(moved.timeline, { at: now, actor, action: 'return_ruled', note: `${what}: ${ruling.note}` }),
    version: ticket.version + 1,
  };
}
