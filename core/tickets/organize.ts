/**
 * Who works on a ticket follows its grade, pure. At opening, a C ticket goes down to the
 * community containing its place and a D ticket to the grid (the sub-center keeps seeing and
 * supervising it); when a storm raises the grade above what the holder handles, the ticket goes
 * up to the community or the sub-center. And the category's response plan (预案) for the grade
 * is put in force: its lead leads, its co-handlers are summoned. Runs inside an alert's change
 * (the caller versions and saves it).
 */
import type { CityIndex } from '../city-index.js';
import type { Ticket } from '../schemas.js';
import { applyPlan } from './joint.js';
import { redispatch } from './lifecycle.js';
import { appendTimeline } from './timeline.js';
import { holderForRaise, localHolder, unitById } from './units.js';

export interface Organized {
  ticket: Ticket;
  /** Departments summoned by this change. */
  summoned: string[];
  /** The holder the ticket went up from, when a raise moved it. */
  movedFrom?: string;
}

export function organize(ticket: Ticket, index: CityIndex, now: number, opening: boolean): Organized {
  let next = ticket;
  let movedFrom: string | undefined;
  if (opening && !ticket.routedToFallback) {
    const holder = localHolder(index, ticket.subcenterId, ticket.location, ticket.grade);
    if (holder !== ticket.subcenterId) next = handDown(ticket, holder, index);
  } else if (!opening) {
    const up = holderForRaise(index, ticket.subcenterId, ticket.grade);
    if (up !== undefined) {
      movedFrom = ticket.subcenterId;
      const level = unitById(index, up)?.level ?? 'subcenter';
      next = redispatch(ticket, up, now, { sla: index.city.sla, fallbackId: index.city.district.id });
      next.timeline = appendTimeline(next.timeline, { at: now, actor: 'system', action: 'reassigned', note: `${ticket.subcenterId} → ${up}: grade ${ticket.grade} is handled by the ${level}` });
    }
  }
  const planned = applyPlan(next, index.city.responsePlans.get(next.category), now, opening);
  return { ticket: planned.ticket, summoned: planned.summoned, ...(movedFrom === undefined ? {} : { movedFrom }) };
}

/** A new ticket handed down from its sub-center to the community or grid: the dispatch says so. */
function handDown(ticket: Ticket, holder: string, index: CityIndex): Ticket {
  const unit = unitById(index, holder);
  const timeline = ticket.timeline.map((e) =>
    e.action === 'dispatched' && e.actor === 'system' ? { ...e, note: `routed to ${holder} (${unit?.level ?? 'unit'} of ${ticket.subcenterId}, grade ${ticket.grade}), department ${ticket.department}` } : e,
  );
  return { ...ticket, subcenterId: holder, holders: [holder], timeline };
}
