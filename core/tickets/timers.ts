/**
 * Ticket timers, pure. The timers a ticket needs are a function of its state (`timersFor`), and
 * every save replaces them, so a timer disappears in the same transaction that records its
 * effect: that, and the optimistic version of the ticket, is what makes each fire exactly once
 * however many instances claim timers and however often they restart.
 */
import type { Sla } from '../city.js';
import type { DeadlineMark, SupervisionOrder, Ticket, TicketEventType, TicketTimer, TimerKind } from '../schemas.js';
import { lapsePendingExtension } from './extensions.js';
import { WORKING_STATUSES } from './lifecycle.js';
import { confirmationDue } from './reports.js';
import { issueSupervisionOrder } from './supervision.js';
import { appendTimeline } from './timeline.js';

export function timerId(ticketId: string, kind: TimerKind, department?: string): string {
  return department === undefined ? `${ticketId}/${kind}` : `${ticketId}/${kind}/${department}`;
}

/**
 * When the sensor's confirmation period starts: resolved by the holder and every sensor alert
 * resolved (a people's report never clears by itself). A ticket a report opened has no hold:
 * its reporter confirms the closing.
 */
export function holdStart(ticket: Ticket): number | undefined {
  if (ticket.status !== 'resolved' || ticket.resolvedAt === null || ticket.origin === 'report') return undefined;
  const sensors = ticket.alerts.filter((a) => a.report !== true);
  if (sensors.some((a) => a.status !== 'resolved')) return undefined;
  return Math.max(ticket.resolvedAt, ...sensors.map((a) => a.resolvedAt ?? 0));
}

const marked = (marks: readonly DeadlineMark[], kind: DeadlineMark['kind'], deadline: number): boolean =>
  marks.some((m) => m.kind === kind && m.deadline === deadline);

/** The timers the ticket needs now, by due time. */
export function timersFor(ticket: Ticket, sla: Sla): TicketTimer[] {
  if (ticket.status === 'closed') return [];
  const out: TicketTimer[] = [];
  const add = (kind: TimerKind, dueAt: number, department?: string): void => {
    out.push({ id: timerId(ticket.id, kind, department), ticketId: ticket.id, kind, dueAt, ...(department === undefined ? {} : { department }) });
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
  // Each summoned department's check-in (报到), with a reminder like the holder's deadlines.
  for (const c of ticket.coHandlers ?? []) {
    if (c.status !== 'summoned' || c.missedAt !== null) continue;
    if (c.remindedAt === null && c.checkInBy - remindBefore > c.summonedAt) add('checkin_reminder', c.checkInBy - remindBefore, c.department);
    add('checkin_due', c.checkInBy, c.department);
  }
  const confirm = confirmationDue(ticket, sla.governance.reports);
  if (confirm !== undefined) add('confirmation_due', confirm);
  return out.sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1));
}

export interface FireContext {
  sla: Sla;
  /** The center a unit's missed deadline escalates to. */
  parentOf: (unitId: string) => string;
  /** The district command center: a department's missed check-in and a reporter's silence go there. */
  districtId: string;
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
  const department = wanted.department;
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
      // A request for more time still waiting when the deadline passes has lapsed.
      const lapsed = kind === 'resolution' ? lapsePendingExtension(base, now, 'the deadline passed before a decision') : base;
      return {
        type: 'ticket.overdue',
        recipients: parent === holder ? [holder] : [holder, parent],
        supervisionOrder: order,
        ticket: {
          ...lapsed,
          red: true,
          overdue: [...ticket.overdue, { kind, deadline, at: now, subcenterId: holder }],
          supervisionOrderIds: [...ticket.supervisionOrderIds, order.id],
          timeline: appendTimeline(
            lapsed.timeline,
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
    case 'checkin_reminder':
    case 'checkin_due': {
      const c = ticket.coHandlers!.find((x) => x.department === department)!;
      const due = new Date(c.checkInBy).toISOString();
      if (timer.kind === 'checkin_reminder') {
        if (now >= c.checkInBy) return undefined;
        return {
          type: 'ticket.reminder',
          recipients: [holder, c.department],
          ticket: {
            ...base,
            coHandlers: ticket.coHandlers!.map((x) => (x === c ? { ...x, remindedAt: now } : x)),
            timeline: appendTimeline(ticket.timeline, { at: now, actor: 'system', action: 'reminder', note: `${c.department}: check-in deadline ${due}` }),
          },
        };
      }
      // The departments answer to the district: their missed check-in is supervised there.
      const order = issueSupervisionOrder(ticket, 'checkin_overdue', c.checkInBy, ctx.districtId, now, c.department);
      return {
        type: 'ticket.overdue',
        recipients: [...new Set([holder, c.department, ctx.districtId])],
        supervisionOrder: order,
        ticket: {
          ...base,
          coHandlers: ticket.coHandlers!.map((x) => (x === c ? { ...x, missedAt: now } : x)),
          supervisionOrderIds: [...ticket.supervisionOrderIds, order.id],
          timeline: appendTimeline(
            ticket.timeline,
            { at: now, actor: 'system', action: 'overdue', note: `${c.department}: check-in deadline ${due} missed` },
            { at: now, actor: 'system', action: 'escalated', note: `supervision order ${order.id} issued to ${ctx.districtId}` },
          ),
        },
      };
    }
    case 'confirmation_due': {
      const hours = ctx.sla.governance.reports.confirmWithin / 3_600_000;
      return {
        type: 'ticket.updated',
        recipients: [...new Set([holder, ctx.districtId])],
        ticket: {
          ...base,
          confirmationTimedOut: { resolvedAt: ticket.resolvedAt!, at: now },
          timeline: appendTimeline(ticket.timeline, { at: now, actor: 'system', action: 'confirmation_overdue', note: `the reporter did not answer the resolution within ${hours} h: the district confirms the closing` }),
        },
      };
    }
  }
}
