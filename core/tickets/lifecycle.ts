/**
 * The ticket lifecycle, pure: what a firing alert opens, how later alerts merge in, which
 * status changes are allowed and what each one records. Each function returns a new ticket
 * (version + 1) or throws a coded error; persistence is the caller's.
 */
import type { FlappingPolicy, Sla, ZoneRisk } from '../city.js';
import { swError } from '../errors.js';
import type { Alert, Ticket, TicketAlert, TicketReportRef, TicketStatus, TimelineEntry } from '../schemas.js';
import { lapsePendingExtension } from './extensions.js';
import { gradeRank, gradeTicket, higherGrade } from './grading.js';
import { pendingCoHandlers } from './joint.js';
import type { Route } from './routing.js';
import { addBounded, addDevice, alertActor, isReplay, recordChange, rememberApplied, toTicketAlert, type ChangeVerdict } from './ticket-alerts.js';
import { appendTimeline } from './timeline.js';

/** People's reports a ticket lists (the opener first); beyond it they are counted in `reportCount`. */
export const MAX_TICKET_REPORTS = 50;
/** Units (and departments) a ticket remembers having held (led) it: far more than any ticket sees. */
export const MAX_TICKET_HOLDERS = 20;

/** Adds to a short history of ids, once each, bounded. */
export function remember(list: readonly string[] | undefined, id: string, max = MAX_TICKET_HOLDERS): string[] {
  const out = [...(list ?? [])];
  if (!out.includes(id) && out.length < max) out.push(id);
  return out;
}

function reportRef(alert: Alert): TicketReportRef {
  return { id: alert.report!.id, channel: alert.report!.channel, by: alert.report!.by, at: alert.ts };
}

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
  const { grade, reasons } = gradeTicket({ base: alert.grade, zoneRisk: ctx.zoneRisk, devices: alert.report ? 0 : 1, alerts: 1 }, ctx.sla.grading);
  const deadlines = ctx.sla.grades[grade];
  const timeline: TimelineEntry[] = [{ at: ctx.now, actor: alertActor(alert), action: 'created', note: alert.summary }];
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
    firings: 1,
    alertsRolledUp: 0,
    flapping: false,
    appliedAlertIds: [alert.id],
    // A report is no device: grading by devices counts sensors only.
    devices: alert.report ? [] : [alert.deviceId],
    firstSeen: alert.startsAt,
    lastSeen: alert.ts,
    reminders: [],
    overdue: [],
    red: false,
    supervisionOrderIds: [],
    timeline,
    version: 1,
    origin: alert.report ? 'report' : 'sensor',
    holders: [ctx.route.subcenterId],
    leads: [ctx.department],
    ...(alert.report ? { reports: [reportRef(alert)], reportCount: 1 } : {}),
  };
}

/** A ticket changed by an alert, and how loud the change is. */
export interface AlertChange {
  ticket: Ticket;
  /**
   * A further change of a flapping alert that moved nothing else (status, grade, devices): saved
   * and counted, not announced, so a flapping sensor is one flagged ticket and not a storm.
   */
  quiet: boolean;
  /** The change made an alert start or stop flapping. */
  flapping?: 'started' | 'stopped';
}

/**
 * Adds a firing alert to its open ticket; undefined when the ticket already applied it or a
 * later transition of its fingerprint (a redelivery or replay). A firing on a resolved ticket
 * reopens it: the fix did not hold. A repeat firing of a fingerprint the ticket holds counts in
 * `firings`, not in `alertCount`, so it never raises the grade; the grade is re-evaluated as the
 * storm grows (new devices and alerts), and only ever rises; a higher grade tightens the deadlines.
 */
export function mergeFiring(ticket: Ticket, alert: Alert, now: number, ctx: GradingContext): AlertChange | undefined {
  if (isReplay(ticket, alert)) return undefined;
  const existing = ticket.alerts.findIndex((a) => a.fingerprint === alert.fingerprint);
  let alerts = [...ticket.alerts];
  let alertCount = ticket.alertCount;
  let rolledUp = ticket.alertsRolledUp ?? 0;
  let flapping: ChangeVerdict | undefined;
  if (existing >= 0) {
    const { resolvedAt: _cleared, ...prev } = alerts[existing]!;
    const changed = prev.status !== 'firing';
    const next: TicketAlert = { ...prev, id: alert.id, value: alert.value, status: 'firing', lastSeen: Math.max(prev.lastSeen, alert.ts), startsAt: alert.startsAt, firings: (prev.firings ?? 1) + 1 };
    flapping = changed ? recordChange(next, alert.ts, ctx.sla.flapping) : undefined;
    alerts[existing] = flapping?.entry ?? next;
  } else {
    const added = addBounded(alerts, toTicketAlert(alert));
    alerts = added.alerts;
    rolledUp += added.rolledUp;
    alertCount += 1;
  }
  const entry = alerts.find((a) => a.fingerprint === alert.fingerprint);
  const devices = alert.report ? [...ticket.devices] : addDevice(ticket.devices, alert.deviceId);
  const actor = alertActor(alert);
  const entries: TimelineEntry[] = [{ at: now, actor, action: alert.report ? 'report' : 'alert', note: alert.summary }];
  if (flapping?.started) entries.push(flappingStarted(alert.deviceId, now, ctx.sla.flapping));
  if (flapping?.stopped) entries.push({ at: now, actor, action: 'flapping_stopped', note: 'state changes back to normal frequency' });
  let next: Ticket = {
    ...ticket,
    alerts,
    alertCount,
    alertsRolledUp: rolledUp,
    firings: (ticket.firings ?? ticket.alertCount) + 1,
    flapping: alerts.some((a) => a.flapping === true),
    appliedAlertIds: rememberApplied(ticket.appliedAlertIds, alert.id),
    devices,
    firstSeen: Math.min(ticket.firstSeen, alert.startsAt),
    lastSeen: Math.max(ticket.lastSeen, alert.ts),
    baseGrade: higherGrade(ticket.baseGrade, alert.grade),
    updatedAt: now,
    timeline: appendTimeline(ticket.timeline, ...entries),
    version: ticket.version + 1,
  };
  if (alert.report && existing < 0) {
    const reports = ticket.reports ?? [];
    next.reports = reports.length < MAX_TICKET_REPORTS ? [...reports, reportRef(alert)] : [...reports];
    next.reportCount = (ticket.reportCount ?? reports.length) + 1;
  }
  next = regrade(next, now, ctx);
  if (next.status === 'resolved') {
    const why = alert.report ? 'reported again before the closing was confirmed' : 'fired again before the closing was confirmed';
    next = { ...next, status: 'reopened', timeline: appendTimeline(next.timeline, { at: now, actor, action: 'reopened', note: why }) };
  }
  const quiet = entry?.flapping === true && !flapping?.started && next.status === ticket.status && next.grade === ticket.grade && alertCount === ticket.alertCount;
  return { ticket: next, quiet, ...flappingOf(flapping) };
}

function flappingStarted(deviceId: string, now: number, policy: FlappingPolicy): TimelineEntry {
  return {
    at: now,
    actor: `sensor:${deviceId}`,
    action: 'flapping',
    note: `${policy.high} state changes within ${policy.window / 60_000} min: flapping, further changes are counted and not announced`,
  };
}

function flappingOf(v: ChangeVerdict | undefined): { flapping?: 'started' | 'stopped' } {
  return v?.started ? { flapping: 'started' } : v?.stopped ? { flapping: 'stopped' } : {};
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
    timeline: appendTimeline(ticket.timeline, { at: now, actor: 'system', action: 'graded', note: `${ticket.grade} → ${grade}: ${reasons.join('; ') || `rule grade ${ticket.baseGrade}`}` }),
  };
}

/**
 * Marks the ticket's alert for this fingerprint resolved; undefined when nothing changes (no
 * such firing alert, or a replay of a transition already applied).
 */
export function applyResolved(ticket: Ticket, alert: Alert, now: number, ctx: Pick<GradingContext, 'sla'>): AlertChange | undefined {
  const i = ticket.alerts.findIndex((a) => a.fingerprint === alert.fingerprint && a.status === 'firing');
  if (i < 0 || isReplay(ticket, alert)) return undefined;
  const alerts = [...ticket.alerts];
  const resolved: TicketAlert = { ...alerts[i]!, id: alert.id, status: 'resolved', value: alert.value, lastSeen: Math.max(alerts[i]!.lastSeen, alert.ts), resolvedAt: now, startsAt: alert.startsAt };
  const flapping = recordChange(resolved, alert.ts, ctx.sla.flapping);
  alerts[i] = flapping.entry;
  const entries: TimelineEntry[] = [{ at: now, actor: `sensor:${alert.deviceId}`, action: 'alert_resolved', note: alert.summary }];
  if (flapping.started) entries.push(flappingStarted(alert.deviceId, now, ctx.sla.flapping));
  if (flapping.stopped) entries.push({ at: now, actor: `sensor:${alert.deviceId}`, action: 'flapping_stopped', note: 'state changes back to normal frequency' });
  const next: Ticket = {
    ...ticket,
    alerts,
    flapping: alerts.some((a) => a.flapping === true),
    appliedAlertIds: rememberApplied(ticket.appliedAlertIds, alert.id),
    lastSeen: Math.max(ticket.lastSeen, alert.ts),
    updatedAt: now,
    timeline: appendTimeline(ticket.timeline, ...entries),
    version: ticket.version + 1,
  };
  return { ticket: next, quiet: flapping.entry.flapping === true && !flapping.started, ...flappingOf(flapping) };
}

/**
 * A status change by an operator, checked against TRANSITIONS. The first acknowledgment, start
 * or resolution is the response; closing by an operator is the explicit confirmation.
 */
export function transition(ticket: Ticket, to: TicketStatus, actor: string, now: number, note?: string): Ticket {
  if (!TRANSITIONS[ticket.status].includes(to)) throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, to);
  // Joint handling: the lead's resolution stands for everyone only once every co-handler is done.
  const pending = to === 'resolved' ? pendingCoHandlers(ticket) : [];
  if (pending.length > 0) throw swError('SW_ERR_JOINT_PENDING', ticket.id, pending.map((c) => c.department).join(', '));
  const entry: TimelineEntry = note === undefined ? { at: now, actor, action: to } : { at: now, actor, action: to, note };
  let next: Ticket = { ...ticket, status: to, updatedAt: now, timeline: appendTimeline(ticket.timeline, entry), version: ticket.version + 1 };
  // A resolution makes a pending request for more time moot.
  if (to === 'resolved') next = lapsePendingExtension(next, now, 'the ticket was resolved before a decision');
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
  return { ...ticket, updatedAt: now, timeline: appendTimeline(ticket.timeline, { at: now, actor, action: 'feedback', note }), version: ticket.version + 1 };
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
    next = redispatch(next, change.subcenterId!, now, ctx);
  }
  if (redepartment) {
    what.push(`department ${ticket.department} → ${change.department}`);
    next.department = change.department!;
    next.leads = remember(ticket.leads, change.department!);
  }
  next.timeline = appendTimeline(next.timeline, { at: now, actor, action: 'reassigned', note: `${what.join(', ')}: ${change.reason}` });
  return next;
}

/**
 * The ticket to a new holder, who must acknowledge it: dispatched again with a fresh response
 * window. The resolution deadline does not move: the clock started with the whistle. A request
 * for more time still waiting lapses: the new holder answers to another parent, and asks anew.
 */
export function redispatch(ticket: Ticket, holder: string, now: number, ctx: { sla: Sla; fallbackId: string }): Ticket {
  const base = holder === ticket.subcenterId ? ticket : lapsePendingExtension(ticket, now, `the ticket went to ${holder} before a decision`);
  return {
    ...base,
    subcenterId: holder,
    routedToFallback: holder === ctx.fallbackId,
    status: 'dispatched',
    dispatchedAt: now,
    respondedAt: null,
    respondBy: now + ctx.sla.grades[ticket.grade].respondWithin,
    holders: remember(ticket.holders, holder),
  };
}
