/**
 * Ticket timers, pure. The timers a ticket needs are a function of its state (`timersFor`), and
 * every save replaces them, so a timer disappears in the same transaction that records its
 * effect: that, and the optimistic version of the ticket, is what makes each fire exactly once
 * however many instances claim timers and however often they restart.
 */
import type { Sla } from '../city.js';
import type { DeadlineMark, SupervisionOrder, Ticket, TicketEventType, TicketTimer, TimerKind } from '../schemas.js';
import { WORKING_STATUSES } from './lifecycle.js';
import { issueSupervisionOrder } from './supervision.js';
import { appendTimeline } from './timeline.js';

export function timerId(ticketId: string, kind: TimerKind): string {
  return `${ticketId}/${kind}`;
}

/** When the sensor's confirmation period starts: resolved by the holder and every alert resolved. */
export function holdStart(ticket: Ticket): number | undefined {
  if (ticket.status !== 'resolved' || ticket.resolvedAt === null) return undefined;
  if (ticket.alerts.some((a) => a.status !== 'resolved')) return undefined;
  return Math.max(ticket.resolvedAt, ...ticket.alerts.map((a) => a.resolvedAt ?? 0));
}

const marked = (marks: readonly DeadlineMark[], kind: DeadlineMark['kind'], deadline: number): boolean =>
  marks.some((m) => m.kind === kind && m.deadline === deadline);

/** The timers the ticket needs now, by due time. */
export function timersFor(ticket: Ticket, sla: Sla): TicketTimer[] {
  if (ticket.status === 'closed') return [];
  const out: TicketTimer[] = [];
  const add = (kind: TimerKind, dueAt: number): void => {
    out.push({ id: timerId(ticket.id, kind), ticketId: ticket.id, kind, dueAt });
  };
  const { remindBefore, holdFor } = sla.grades[ticket.grade];
  const deadline = (kind: DeadlineMark['kind'], at: number, anchor: number): void => {
    if (marked(ticket.overdue, kind, at)) return;
    // A reminder only makes sense if there was time before it: not for deadlines shorter than the lead.
    if (at - remindBefore > anchor && !marked(ticket.reminders, kind, at)) add(`${kind}_reminder`, at - remindBefore);
    add(`${kind}_due`, at);
  };
  if (ticket.respondedAt === null) deadline('response', ticket.respondBy, ticket.dispatchedAt);
  if (WORKING_STATUSES.includes(ticket.status)) deadline('resolution', ticket.resolveBy, ticket.createdAt);
  const hold = holdStart(ticket);
  if (hold !== undefined) add('close_hold', hold + holdFor);
  return out.sort((a, b) => a.dueAt - b.dueAt);
}

export interface FireContext {
  sla: Sla;
  /** The center a unit's missed deadline escalates to. */
  parentOf: (unitId: string) => string;
}

export interface Fired {
  ticket: Ticket;
  type: TicketEventType;
  recipients: string[];
  supervisionOrder?: SupervisionOrder;
}

/**
 * What a due timer does to the ticket; undefined when it no longer applies (the ticket moved on,
 * or the effect is already recorded by another instance).
 */
export function fireTimer(ticket: Ticket, timer: TicketTimer, now: number, ctx: FireContext): Fired | undefined {
  const wanted = timersFor(ticket, ctx.sla).find((t) => t.id === timer.id);
  if (!wanted || wanted.dueAt !== timer.dueAt || now < wanted.dueAt) return undefined;
  const base = { ...ticket, updatedAt: now, version: ticket.version + 1 };
  const holder = ticket.subcenterId;
  switch (timer.kind) {
    case 'response_reminder':
    case 'resolution_reminder': {
      const kind = timer.kind === 'response_reminder' ? 'response' : 'resolution';
      const deadline = kind === 'response' ? ticket.respondBy : ticket.resolveBy;
      // Fired late (the process was down): past the deadline, the overdue timer speaks instead.
      if (now >= deadline) return undefined;
      return {
        type: 'ticket.reminder',
        recipients: [holder],
        ticket: {
          ...base,
          reminders: [...ticket.reminders, { kind, deadline, at: now, subcenterId: holder }],
          timeline: appendTimeline(ticket.timeline, { at: now, actor: 'system', action: 'reminder', note: `${kind} deadline ${new Date(deadline).toISOString()}` }),
        },
      };
    }
    case 'response_due':
    case 'resolution_due': {
      const kind = timer.kind === 'response_due' ? 'response' : 'resolution';
      const deadline = kind === 'response' ? ticket.respondBy : ticket.resolveBy;
      const parent = ctx.parentOf(holder);
      const order = issueSupervisionOrder(ticket, kind === 'response' ? 'response_overdue' : 'resolution_overdue', deadline, parent, now);
      return {
        type: 'ticket.overdue',
        recipients: parent === holder ? [holder] : [holder, parent],
        supervisionOrder: order,
        ticket: {
          ...base,
          red: true,
          overdue: [...ticket.overdue, { kind, deadline, at: now, subcenterId: holder }],
          supervisionOrderIds: [...ticket.supervisionOrderIds, order.id],
          timeline: appendTimeline(
            ticket.timeline,
            { at: now, actor: 'system', action: 'overdue', note: `${kind} deadline ${new Date(deadline).toISOString()} missed` },
            { at: now, actor: 'system', action: 'escalated', note: `supervision order ${order.id} issued to ${parent}` },
          ),
        },
      };
    }
    case 'close_hold': {
      const hold = ctx.sla.grades[ticket.grade].holdFor;
      const actor = `sensor:${ticket.devices.join(',')}`.slice(0, 256);
      return {
        type: 'ticket.closed',
        recipients: [holder],
        ticket: {
          ...base,
          status: 'closed',
          closedAt: now,
          closure: { by: 'sensor', actor, at: now },
          timeline: appendTimeline(ticket.timeline, { at: now, actor, action: 'closed', note: `readings normal for ${hold / 60_000} min after the resolution: confirmed by the sensor` }),
        },
      };
    }
  }
}
