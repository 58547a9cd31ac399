/**
 * The ticket lifecycle, pure: what a firing alert opens, how later alerts merge in, which
 * status changes are allowed. Each function returns a new ticket (version + 1) or throws a
 * coded error; persistence is the caller's.
 */
import type { Sla } from '../core/city.js';
import { swError } from '../core/errors.js';
import type { Alert, Ticket, TicketAlert, TicketStatus } from '../core/schemas.js';
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

/** Firings with the same rule in the same zone (or, outside zones, on the same device) share a ticket. */
export function mergeKeyOf(alert: Pick<Alert, 'ruleId' | 'zoneId' | 'deviceId'>): string {
  return `${alert.ruleId}|${alert.zoneId !== undefined ? `zone:${alert.zoneId}` : `device:${alert.deviceId}`}`;
}

export interface NewTicketContext {
  id: string;
  now: number;
  route: Route;
  sla: Sla;
  title: string;
}

export function ticketFromAlert(alert: Alert, ctx: NewTicketContext): Ticket {
  const deadlines = ctx.sla.grades[alert.grade];
  const timeline = [{ at: ctx.now, actor: `sensor:${alert.deviceId}`, action: 'created', note: alert.summary }];
  timeline.push({
    at: ctx.now,
    actor: 'system',
    action: 'dispatched',
    note: ctx.route.fallback ? `no jurisdiction contains the location: routed to the district center ${ctx.route.subcenterId}` : `routed to ${ctx.route.subcenterId}`,
  });
  return {
    id: ctx.id,
    grade: alert.grade,
    category: alert.category,
    department: alert.department,
    subcenterId: ctx.route.subcenterId,
    routedToFallback: ctx.route.fallback,
    zoneId: alert.zoneId ?? null,
    ruleId: alert.ruleId,
    mergeKey: mergeKeyOf(alert),
    status: 'dispatched',
    title: ctx.title,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    respondBy: ctx.now + deadlines.respondWithin,
    resolveBy: ctx.now + deadlines.resolveWithin,
    location: alert.loc ?? null,
    alerts: [toTicketAlert(alert)],
    timeline,
    version: 1,
  };
}

/** Adds a firing alert to its open ticket; undefined when the ticket already holds it. */
export function mergeFiring(ticket: Ticket, alert: Alert, now: number): Ticket | undefined {
  if (ticket.alerts.some((a) => a.id === alert.id)) return undefined;
  const existing = ticket.alerts.findIndex((a) => a.fingerprint === alert.fingerprint);
  const alerts = [...ticket.alerts];
  if (existing >= 0) {
    const prev = alerts[existing]!;
    alerts[existing] = { ...prev, id: alert.id, value: alert.value, status: 'firing', lastSeen: alert.ts };
  } else {
    alerts.push(toTicketAlert(alert));
  }
  return {
    ...ticket,
    alerts,
    updatedAt: now,
    timeline: [...ticket.timeline, { at: now, actor: `sensor:${alert.deviceId}`, action: 'alert', note: alert.summary }],
    version: ticket.version + 1,
  };
}

/** Marks the ticket's alert for this fingerprint resolved; undefined when nothing changes. */
export function applyResolved(ticket: Ticket, alert: Alert, now: number): Ticket | undefined {
  const i = ticket.alerts.findIndex((a) => a.fingerprint === alert.fingerprint && a.status === 'firing');
  if (i < 0) return undefined;
  const alerts = [...ticket.alerts];
  alerts[i] = { ...alerts[i]!, status: 'resolved', value: alert.value, lastSeen: alert.ts };
  return {
    ...ticket,
    alerts,
    updatedAt: now,
    timeline: [...ticket.timeline, { at: now, actor: `sensor:${alert.deviceId}`, action: 'alert_resolved', note: alert.summary }],
    version: ticket.version + 1,
  };
}

/** A status change by an actor, checked against TRANSITIONS. */
export function transition(ticket: Ticket, to: TicketStatus, actor: string, now: number, note?: string): Ticket {
  if (!TRANSITIONS[ticket.status].includes(to)) throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, to);
  const entry = note === undefined ? { at: now, actor, action: to } : { at: now, actor, action: to, note };
  return { ...ticket, status: to, updatedAt: now, timeline: [...ticket.timeline, entry], version: ticket.version + 1 };
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
