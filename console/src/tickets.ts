/**
 * What a ticket means on the screen, pure: which deadlines still run, whether it is overdue,
 * which moves the operator may offer, and the inbox's filters and order.
 */
import { TRANSITIONS } from '../../alerting/lifecycle.js';
import type { Grade, Ticket, TicketStatus } from '../../core/schemas.js';
import type { TicketAction } from './api.js';

/**
 * Fields the ticket service adds as the governance loop grows (response time, red flag);
 * read when present, derived from the timeline when not.
 */
export type TicketView = Ticket & Partial<{ respondedAt: number | null; resolvedAt: number | null; red: boolean }>;

export const GRADES: readonly Grade[] = ['A', 'B', 'C', 'D'];
/** Every status, from the lifecycle (core/schemas.js would bring zod into the bundle). */
export const STATUSES = Object.keys(TRANSITIONS) as TicketStatus[];
export const CLOSED: TicketStatus = 'closed';
const RESPONSE_ACTIONS = new Set(['acknowledged', 'in_progress', 'resolved']);

/** When the holder first answered the call, or null. */
export function respondedAt(t: TicketView): number | null {
  if (t.respondedAt !== undefined) return t.respondedAt;
  return t.timeline.find((e) => RESPONSE_ACTIONS.has(e.action))?.at ?? null;
}

/** When the ticket was last resolved, or null while it is being worked on. */
export function resolvedAt(t: TicketView): number | null {
  if (t.status !== 'resolved' && t.status !== 'closed') return null;
  if (t.resolvedAt !== undefined && t.resolvedAt !== null) return t.resolvedAt;
  return t.timeline.findLast((e) => e.action === 'resolved' || e.action === 'closed')?.at ?? t.updatedAt;
}

export type DeadlineState = { kind: 'met'; at: number } | { kind: 'running'; left: number } | { kind: 'missed'; by: number; met?: number };

/** Where a deadline stands at `now`: met (and when), still running, or missed (and by how much). */
export function deadlineState(deadline: number, doneAt: number | null, now: number): DeadlineState {
  if (doneAt !== null) return doneAt <= deadline ? { kind: 'met', at: doneAt } : { kind: 'missed', by: doneAt - deadline, met: doneAt };
  return now <= deadline ? { kind: 'running', left: deadline - now } : { kind: 'missed', by: now - deadline };
}

export function responseState(t: TicketView, now: number): DeadlineState {
  return deadlineState(t.respondBy, respondedAt(t), now);
}

export function resolutionState(t: TicketView, now: number): DeadlineState {
  return deadlineState(t.resolveBy, resolvedAt(t), now);
}

/** Red in the inbox: a deadline was missed (the server's flag when it sends one). */
export function isOverdue(t: TicketView, now: number): boolean {
  if (t.red) return true;
  if (t.status === CLOSED) return false;
  return responseState(t, now).kind === 'missed' || resolutionState(t, now).kind === 'missed';
}

/** The moves to offer for a ticket's status; the server decides in the end. */
export function availableActions(t: Ticket, canReassign: boolean): TicketAction[] {
  const next = TRANSITIONS[t.status];
  const actions: TicketAction[] = [];
  if (next.includes('acknowledged')) actions.push('ack');
  if (next.includes('in_progress')) actions.push('start');
  if (next.includes('resolved')) actions.push('resolve');
  if (next.includes('closed')) actions.push('close');
  if (t.status !== CLOSED) actions.push('feedback');
  if (canReassign && t.status !== CLOSED && t.status !== 'resolved') actions.push('reassign');
  return actions;
}

export interface InboxFilter {
  /** `open`: everything not closed. */
  status: 'open' | 'all' | TicketStatus;
  grade: Grade | '';
  subcenterId: string;
  overdueOnly: boolean;
  text: string;
}

export const DEFAULT_FILTER: InboxFilter = { status: 'open', grade: '', subcenterId: '', overdueOnly: false, text: '' };

export function matches(t: TicketView, f: InboxFilter, now: number): boolean {
  if (f.status === 'open' ? t.status === CLOSED : f.status !== 'all' && t.status !== f.status) return false;
  if (f.grade && t.grade !== f.grade) return false;
  if (f.subcenterId && t.subcenterId !== f.subcenterId) return false;
  if (f.overdueOnly && !isOverdue(t, now)) return false;
  const text = f.text.trim().toLowerCase();
  if (text) {
    const haystack = [t.id, t.title, t.category, t.department, t.zoneId ?? '', ...t.alerts.map((a) => a.deviceId)].join(' ').toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

/** Overdue first, then by grade (A first), then newest first. */
export function inboxOrder(now: number): (a: TicketView, b: TicketView) => number {
  return (a, b) =>
    Number(isOverdue(b, now)) - Number(isOverdue(a, now)) ||
    Number(a.status === CLOSED) - Number(b.status === CLOSED) ||
    GRADES.indexOf(a.grade) - GRADES.indexOf(b.grade) ||
    b.createdAt - a.createdAt;
}

/** The devices and metrics a ticket's alerts came from, each with its alert window. */
export function alertSeries(t: Ticket): { deviceId: string; metric: string; ruleId: string; firstSeen: number; lastSeen: number; firing: boolean }[] {
  return t.alerts.map((a) => ({ deviceId: a.deviceId, metric: a.metric, ruleId: a.ruleId, firstSeen: a.firstSeen, lastSeen: a.lastSeen, firing: a.status === 'firing' }));
}
