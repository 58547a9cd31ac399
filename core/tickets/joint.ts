/**
 * Joint handling (吹哨报到, 联动), pure. A category's response plan (预案) names the lead
 * department and, for grade A (and B where the city wants it), the departments summoned to
 * co-handle, each with a check-in deadline. Each co-handler checks in (报到), gives feedback
 * and finishes under its own name; the ticket resolves only when the lead resolves and every
 * co-handler has finished (or was released). The holder may also blow the whistle by hand for
 * a department the plan does not name, and release one that turns out not to be needed.
 */
import type { ResponsePlan } from '../city.js';
import { swError } from '../errors.js';
import type { CoHandler, CoHandlerStatus, Grade, Ticket, TimelineEntry } from '../schemas.js';
import { appendTimeline } from './timeline.js';

/** Co-handlers one ticket may have, by plan and by whistle: a bound on the list, far above any plan. */
export const MAX_CO_HANDLERS = 16;

/** Moves a co-handler may make, from → to. */
const CO_HANDLER_TRANSITIONS: Readonly<Record<CoHandlerStatus, readonly CoHandlerStatus[]>> = {
  summoned: ['checked_in', 'released'],
  checked_in: ['finished', 'released'],
  finished: [],
  released: [],
};

const CLOSED_FOR_JOINT = new Set(['resolved', 'closed']);

/** Co-handlers the lead's resolution waits for: summoned or checked in. */
export function pendingCoHandlers(ticket: Ticket): CoHandler[] {
  return (ticket.coHandlers ?? []).filter((c) => c.status === 'summoned' || c.status === 'checked_in');
}

/**
 * Departments that see the ticket and are told of its changes: the lead, and every co-handler
 * not released.
 */
export function involvedDepartments(ticket: Ticket): string[] {
  const out = new Set<string>();
  if (ticket.department !== '' && ticket.department !== 'unassigned') out.add(ticket.department);
  for (const c of ticket.coHandlers ?? []) if (c.status !== 'released') out.add(c.department);
  return [...out];
}

export function coHandlerOf(ticket: Ticket, department: string): CoHandler | undefined {
  return ticket.coHandlers?.find((c) => c.department === department);
}

/** The plan's co-handlers for a grade: A's, B's where configured; C and D tickets have none. */
export function planFor(plan: ResponsePlan | undefined, grade: Grade): ResponsePlan['grades']['A'] | undefined {
  if (!plan) return undefined;
  return grade === 'A' ? plan.grades.A : grade === 'B' ? plan.grades.B : undefined;
}

export interface Summons {
  ticket: Ticket;
  /** Departments summoned by this change. */
  summoned: string[];
}

/**
 * Puts the category's plan in force for the ticket's grade: the plan's lead leads, the grade's
 * co-handlers not yet on the ticket are summoned (a department released earlier stays
 * released: that was a decision), and the checklist is attached. Nothing changes when the plan
 * has no row for the grade or everything is already in force. The ticket's version is left to
 * the caller (this runs inside a change). At `opening` the rule's department never led the
 * ticket (no one saw it so): it leaves `leads`, so the returns KPI does not count it as handled.
 */
export function applyPlan(ticket: Ticket, plan: ResponsePlan | undefined, now: number, opening = false): Summons {
  const row = planFor(plan, ticket.grade);
  if (!plan || !row || CLOSED_FOR_JOINT.has(ticket.status)) return { ticket, summoned: [] };
  if (ticket.plan?.category === plan.category && ticket.plan.grade === ticket.grade) return { ticket, summoned: [] };
  const lead = row.lead ?? plan.lead;
  // A department that co-handled and now leads answers for the whole ticket instead.
  const existing = (ticket.coHandlers ?? []).map((c) => (c.department === lead && (c.status === 'summoned' || c.status === 'checked_in') ? { ...c, status: 'released' as const, releasedAt: now } : c));
  const fresh: CoHandler[] = [];
  for (const c of row.coHandlers) {
    if (c.department === lead || existing.some((e) => e.department === c.department)) continue;
    if (existing.length + fresh.length >= MAX_CO_HANDLERS) break;
    fresh.push(newCoHandler(c.department, 'plan', 'system', now, c.checkInWithin));
  }
  const entries: TimelineEntry[] = [];
  let next: Ticket = { ...ticket, plan: { category: plan.category, grade: ticket.grade }, coHandlers: [...existing, ...fresh] };
  if (ticket.department !== lead) {
    entries.push({ at: now, actor: 'system', action: 'reassigned', note: `department ${ticket.department} → ${lead}: the response plan for ${plan.category} names the lead at grade ${ticket.grade}` });
    next.department = lead;
    next.leads = opening ? [lead] : [...new Set([...(ticket.leads ?? []), lead])];
  }
  if ((ticket.checklist ?? []).length === 0 && plan.checklist.length > 0) {
    next.checklist = plan.checklist.map((s) => ({ id: s.id, text: s.text, doneAt: null, doneBy: null }));
  }
  const who = fresh.map((c) => `${c.department} (check in by ${new Date(c.checkInBy).toISOString()})`).join(', ');
  entries.push({
    at: now,
    actor: 'system',
    action: 'summoned',
    note: `response plan ${plan.category}, grade ${ticket.grade}: ${lead} leads${fresh.length > 0 ? `; summoned ${who}` : ''}`,
  });
  next = { ...next, timeline: appendTimeline(ticket.timeline, ...entries) };
  return { ticket: next, summoned: fresh.map((c) => c.department) };
}

function newCoHandler(department: string, source: CoHandler['source'], by: string, now: number, checkInWithin: number): CoHandler {
  return {
    department,
    source,
    status: 'summoned',
    summonedAt: now,
    summonedBy: by,
    checkInBy: now + checkInWithin,
    checkedInAt: null,
    finishedAt: null,
    releasedAt: null,
    remindedAt: null,
    missedAt: null,
  };
}

function changed(ticket: Ticket, now: number, entry: TimelineEntry, coHandlers?: CoHandler[]): Ticket {
  return {
    ...ticket,
    ...(coHandlers ? { coHandlers } : {}),
    updatedAt: now,
    timeline: appendTimeline(ticket.timeline, entry),
    version: ticket.version + 1,
  };
}

function assertOpen(ticket: Ticket, what: string): void {
  if (CLOSED_FOR_JOINT.has(ticket.status)) throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, what);
}

/**
 * The holder blows the whistle (吹哨) for a department the plan did not summon: it must check
 * in within `checkInWithin`. A released department may be summoned again.
 */
export function summonByHand(ticket: Ticket, department: string, actor: string, now: number, checkInWithin: number, reason: string): Ticket {
  assertOpen(ticket, 'summoned');
  if (department === ticket.department) throw swError('SW_ERR_JOINT_TRANSITION', department, ticket.id, 'lead', 'summoned');
  const existing = ticket.coHandlers ?? [];
  const prev = existing.find((c) => c.department === department);
  if (prev && prev.status !== 'released') throw swError('SW_ERR_JOINT_TRANSITION', department, ticket.id, prev.status, 'summoned');
  if (!prev && existing.length >= MAX_CO_HANDLERS) throw swError('SW_ERR_JOINT_TRANSITION', department, ticket.id, `one of ${MAX_CO_HANDLERS} co-handlers already`, 'summoned');
  const fresh = newCoHandler(department, 'whistle', actor, now, checkInWithin);
  const coHandlers = prev ? existing.map((c) => (c.department === department ? fresh : c)) : [...existing, fresh];
  return changed(ticket, now, { at: now, actor, action: 'summoned', note: `${department} summoned (check in by ${new Date(fresh.checkInBy).toISOString()}): ${reason}` }, coHandlers);
}

/** What a co-handler does: check in (报到), finish, or be released by the holder. */
export type CoHandlerMove = 'checked_in' | 'finished' | 'released';

/**
 * A co-handler's move. Check-in and finishing are the department's own (actor
 * `department:<id>` or the admin); releasing is the holder's, with a reason.
 */
export function moveCoHandler(ticket: Ticket, department: string, to: CoHandlerMove, actor: string, now: number, note?: string): Ticket {
  assertOpen(ticket, to);
  const existing = ticket.coHandlers ?? [];
  const c = existing.find((x) => x.department === department);
  if (!c) throw swError('SW_ERR_NOT_FOUND', `co-handler ${department} of ticket ${ticket.id}`);
  if (!CO_HANDLER_TRANSITIONS[c.status].includes(to)) throw swError('SW_ERR_JOINT_TRANSITION', department, ticket.id, c.status, to);
  const next: CoHandler = { ...c, status: to };
  if (to === 'checked_in') next.checkedInAt = now;
  if (to === 'finished') next.finishedAt = now;
  if (to === 'released') next.releasedAt = now;
  const what = to === 'checked_in' ? 'checked in' : to === 'finished' ? 'finished' : 'released';
  const entry: TimelineEntry = { at: now, actor, action: to === 'checked_in' ? 'checked_in' : to === 'finished' ? 'co_finished' : 'co_released', note: `${department} ${what}${note ? `: ${note}` : ''}` };
  return changed(ticket, now, entry, existing.map((x) => (x === c ? next : x)));
}

/** A co-handler's feedback (反馈), after it checked in and before it finished. */
export function coHandlerFeedback(ticket: Ticket, department: string, actor: string, now: number, note: string): Ticket {
  if (ticket.status === 'closed') throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, 'feedback');
  const c = coHandlerOf(ticket, department);
  if (!c) throw swError('SW_ERR_NOT_FOUND', `co-handler ${department} of ticket ${ticket.id}`);
  if (c.status !== 'checked_in') throw swError('SW_ERR_JOINT_TRANSITION', department, ticket.id, c.status, 'feedback');
  return changed(ticket, now, { at: now, actor, action: 'feedback', note });
}

/** Ticks a step of the plan's checklist off; the timeline records who and when. */
export function tickChecklist(ticket: Ticket, stepId: string, actor: string, now: number, note?: string): Ticket {
  if (ticket.status === 'closed') throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, 'checklist');
  const steps = ticket.checklist ?? [];
  const step = steps.find((s) => s.id === stepId);
  if (!step) throw swError('SW_ERR_NOT_FOUND', `checklist step ${stepId} of ticket ${ticket.id}`);
  if (step.doneAt !== null) throw swError('SW_ERR_JOINT_TRANSITION', `step ${stepId}`, ticket.id, 'done', 'done');
  const checklist = steps.map((s) => (s === step ? { ...s, doneAt: now, doneBy: actor } : s));
  return { ...changed(ticket, now, { at: now, actor, action: 'checklist', note: `✓ ${step.text}${note ? `: ${note}` : ''}` }), checklist };
}
