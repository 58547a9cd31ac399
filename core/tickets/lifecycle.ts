/**
 * The ticket lifecycle, pure: what a firing alert opens, how later alerts merge in, which
 * status changes are allowed and what each one records. Each function returns a new ticket
 * (version + 1) or throws a coded error; persistence is the caller's.
 */
import type { Sla, ZoneRisk } from '../city.js';
import { swError } from '../errors.js';
import type { Alert, Ticket, TicketAlert, TicketStatus, TimelineEntry } from '../schemas.js';
import { gradeRank, gradeTicket, higherGrade } from './grading.js';
import type { Route } from './routing.js';

/** Allowed status changes. `closed` is final: a later firing opens a new ticket. */
export const TRANSITIONS: Readonly<Record<TicketStatus, readonly TicketStatus[]>> = {
  dispatched: ['acknowledged', 'in_progress', 'resolved'],
  acknowledged: ['in_progress', 'resolved'],
  in_progress: ['resolved'],
  resolved: ['closed', 'reopened'],
  reopened: ['acknowledged', 'in_progress', 'resolved'],
  closed: [],
};

export const OPEN_STATUSES: readonly TicketStatus[] = ['dispatched', 'acknowledged', 'in_progress', 'resolved', 'reopened'];
/** Statuses in which the holder still has work to do before the resolution deadline. */
export const WORKING_STATUSES: readonly TicketStatus[] = ['dispatched', 'acknowledged', 'in_progress', 'reopened'];
/** Moves by which the holder answers the call: the first one is the response (呼应). */
const RESPONSES: readonly TicketStatus[] = ['acknowledged', 'in_progress', 'resolved'];

/**
 * Alerts of one kind of problem in one zone are one incident, whichever rule or device (camera
 * or sensor) raised them; outside zones, a device's alerts are (see the stage for proximity).
 */
export function mergeKeyOf(alert: Pick<Alert, 'category' | 'zoneId' | 'deviceId'>): string {
  return `${alert.category}|${alert.zoneId !== undefined ? `zone:${alert.zoneId}` : `device:${alert.deviceId}`}`;
}

/** What grading needs besides the ticket: deadlines and the table, and the zone's risk. */
export interface GradingContext {
  sla: Sla;
  zoneRisk: ZoneRisk | undefined;
}

export interface NewTicketContext extends GradingContext {
  id: string;
  now: number;
  route: Route;
  /** The responsible department: the rule's, else the category's from the city configuration. */
  department: string;
  title: string;
}

export function ticketFromAlert(alert: Alert, ctx: NewTicketContext): Ticket {
  const { grade, reasons } = gradeTicket({ base: alert.grade, zoneRisk: ctx.zoneRisk, devices: 1, alerts: 1 }, ctx.sla.grading);
  const deadlines = ctx.sla.grades[grade];
  const timeline: TimelineEntry[] = [{ at: ctx.now, actor: `sensor:${alert.deviceId}`, action: 'created', note: alert.summary }];
  if (reasons.length > 0) timeline.push({ at: ctx.now, actor: 'system', action: 'graded', note: `${alert.grade} → ${grade}: ${reasons.join('; ')}` });
  timeline.push({
    at: ctx.now,
    actor: 'system',
    action: 'dispatched',
    note: `${ctx.route.fallback ? `no jurisdiction contains the location: routed to the district center ${ctx.route.subcenterId}` : `routed to ${ctx.route.subcenterId}`}, department ${ctx.department}`,
  });
  return {
    id: ctx.id,
    grade,
    baseGrade: alert.grade,
    gradeReasons: reasons,
    category: alert.category,
    department: ctx.department,
    subcenterId: ctx.route.subcenterId,
    routedToFallback: ctx.route.fallback,
    zoneId: alert.zoneId ?? null,
    ruleId: alert.ruleId,
    mergeKey: mergeKeyOf(alert),
    status: 'dispatched',
    title: ctx.title,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    dispatchedAt: ctx.now,
    respondBy: ctx.now + deadlines.respondWithin,
    resolveBy: ctx.now + deadlines.resolveWithin,
    respondedAt: null,
    resolvedAt: null,
    closedAt: null,
    closure: null,
    location: alert.loc ?? null,
    alerts: [toTicketAlert(alert)],
    alertCount: 1,
    devices: [alert.deviceId],
    firstSeen: alert.startsAt,
    lastSeen: alert.ts,
    reminders: [],
    overdue: [],
    red: false,
    supervisionOrderIds: [],
    timeline,
    version: 1,
  };
}

/**
 * Adds a firing alert to its open ticket; undefined when the ticket already holds it (a
 * redelivery). A firing on a resolved ticket reopens it: the fix did not hold. The grade is
 * re-evaluated as the storm grows, and only ever rises; a higher grade tightens the deadlines.
 */
export function mergeFiring(ticket: Ticket, alert: Alert, now: number, ctx: GradingContext): Ticket | undefined {
  if (ticket.alerts.some((a) => a.id === alert.id)) return undefined;
  const existing = ticket.alerts.findIndex((a) => a.fingerprint === alert.fingerprint);
  const alerts = [...ticket.alerts];
  if (existing >= 0) {
    const { resolvedAt: _cleared, ...prev } = alerts[existing]!;
    alerts[existing] = { ...prev, id: alert.id, value: alert.value, status: 'firing', lastSeen: alert.ts };
  } else {
    alerts.push(toTicketAlert(alert));
  }
  const devices = ticket.devices.includes(alert.deviceId) ? ticket.devices : [...ticket.devices, alert.deviceId];
  const timeline = [...ticket.timeline, { at: now, actor: `sensor:${alert.deviceId}`, action: 'alert', note: alert.summary }];
  let next: Ticket = {
    ...ticket,
    alerts,
    alertCount: ticket.alertCount + 1,
    devices,
    firstSeen: Math.min(ticket.firstSeen, alert.startsAt),
    lastSeen: Math.max(ticket.lastSeen, alert.ts),
    baseGrade: higherGrade(ticket.baseGrade, alert.grade),
    updatedAt: now,
    timeline,
    version: ticket.version + 1,
  };
  next = regrade(next, now, ctx);
  if (next.status === 'resolved') {
    next = { ...next, status: 'reopened', timeline: [...next.timeline, { at: now, actor: `sensor:${alert.deviceId}`, action: 'reopened', note: 'fired again before the closing was confirmed' }] };
  }
  return next;
}

function regrade(ticket: Ticket, now: number, ctx: GradingContext): Ticket {
  const { grade, reasons } = gradeTicket({ base: ticket.baseGrade, zoneRisk: ctx.zoneRisk, devices: ticket.devices.length, alerts: ticket.alertCount }, ctx.sla.grading);
  if (gradeRank(grade) <= gradeRank(ticket.grade)) return ticket;
  const sla = ctx.sla.grades[grade];
  return {
    ...ticket,
    grade,
    gradeReasons: reasons,
    respondBy: Math.min(ticket.respondBy, ticket.dispatchedAt + sla.respondWithin),
    resolveBy: Math.min(ticket.resolveBy, ticket.createdAt + sla.resolveWithin),
    timeline: [...ticket.timeline, { at: now, actor: 'system', action: 'graded', note: `${ticket.grade} → ${grade}: ${reasons.join('; ') || `rule grade ${ticket.baseGrade}`}` }],
  };
}

/** Marks the ticket's alert for this fingerprint resolved; undefined when nothing changes. */
export function applyResolved(ticket: Ticket, alert: Alert, now: number): Ticket | undefined {
  const i = ticket.alerts.findIndex((a) => a.fingerprint === alert.fingerprint && a.status === 'firing');
  if (i < 0) return undefined;
  const alerts = [...ticket.alerts];
  alerts[i] = { ...alerts[i]!, status: 'resolved', value: alert.value, lastSeen: alert.ts, resolvedAt: now };
  return {
    ...ticket,
    alerts,
    lastSeen: Math.max(ticket.lastSeen, alert.ts),
    updatedAt: now,
    timeline: [...ticket.timeline, { at: now, actor: `sensor:${alert.deviceId}`, action: 'alert_resolved', note: alert.summary }],
    version: ticket.version + 1,
  };
}

/**
 * A status change by an operator, checked against TRANSITIONS. The first acknowledgment, start
 * or resolution is the response; closing by an operator is the explicit confirmation.
 */
export function transition(ticket: Ticket, to: TicketStatus, actor: string, now: number, note?: string): Ticket {
  if (!TRANSITIONS[ticket.status].includes(to)) throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, to);
  const entry: TimelineEntry = note === undefined ? { at: now, actor, action: to } : { at: now, actor, action: to, note };
  const next: Ticket = { ...ticket, status: to, updatedAt: now, timeline: [...ticket.timeline, entry], version: ticket.version + 1 };
  if (RESPONSES.includes(to) && next.respondedAt === null) next.respondedAt = now;
  if (to === 'resolved') next.resolvedAt = now;
  if (to === 'closed') {
    next.closedAt = now;
    next.closure = { by: 'operator', actor, at: now };
  }
  return next;
}

/** Feedback (反馈): a note in the timeline, no status change; not on a closed ticket. */
export function addFeedback(ticket: Ticket, actor: string, now: number, note: string): Ticket {
  if (ticket.status === 'closed') throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, 'feedback');
  return { ...ticket, updatedAt: now, timeline: [...ticket.timeline, { at: now, actor, action: 'feedback', note }], version: ticket.version + 1 };
}

export interface Reassignment {
  subcenterId?: string | undefined;
  department?: string | undefined;
  reason: string;
}

/**
 * Re-assignment (改派) of a ticket still being worked on. To another unit: the new holder must
 * acknowledge it, so the ticket is dispatched again with a fresh response window; the
 * resolution deadline stays, because the clock started with the whistle. A department change
 * alone keeps the holder and the status.
 */
export function reassign(ticket: Ticket, change: Reassignment, actor: string, now: number, ctx: { sla: Sla; fallbackId: string }): Ticket {
  if (!(WORKING_STATUSES as readonly string[]).includes(ticket.status)) throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, 'dispatched');
  const moves = change.subcenterId !== undefined && change.subcenterId !== ticket.subcenterId;
  const redepartment = change.department !== undefined && change.department !== ticket.department;
  if (!moves && !redepartment) throw swError('SW_ERR_BODY_INVALID', 'the ticket already has this sub-center and department');
  const what: string[] = [];
  let next: Ticket = { ...ticket, updatedAt: now, version: ticket.version + 1 };
  if (moves) {
    what.push(`${ticket.subcenterId} → ${change.subcenterId}`);
    next = {
      ...next,
      subcenterId: change.subcenterId!,
      routedToFallback: change.subcenterId === ctx.fallbackId,
      status: 'dispatched',
      dispatchedAt: now,
      respondedAt: null,
      respondBy: now + ctx.sla.grades[ticket.grade].respondWithin,
    };
  }
  if (redepartment) {
    what.push(`department ${ticket.department} → ${change.department}`);
    next.department = change.department!;
  }
  next.timeline = [...ticket.timeline, { at: now, actor, action: 'reassigned', note: `${what.join(', ')}: ${change.reason}` }];
  return next;
}

function toTicketAlert(alert: Alert): TicketAlert {
  return {
    id: alert.id,
    fingerprint: alert.fingerprint,
    deviceId: alert.deviceId,
    ruleId: alert.ruleId,
    metric: alert.metric,
    value: alert.value,
    status: alert.status,
    firstSeen: alert.startsAt,
    lastSeen: alert.ts,
  };
}
