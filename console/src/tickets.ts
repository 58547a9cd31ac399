/**
 * What a ticket means on the screen, pure: which deadlines still run, whether it is overdue,
 * which moves the operator may offer, and the inbox's filters and order.
 */
import { TRANSITIONS, WORKING_STATUSES } from '../../core/tickets/lifecycle.js';
import type { Grade, Ticket, TicketStatus } from '../../core/schemas.js';
import type { TicketAction } from './api.js';

export const GRADES: readonly Grade[] = ['A', 'B', 'C', 'D'];
/** Every status, from the lifecycle (core/schemas.js would bring zod into the bundle). */
export const STATUSES = Object.keys(TRANSITIONS) as TicketStatus[];
export const CLOSED: TicketStatus = 'closed';
/**
 * When the holder resolved the ticket (办结), while it is resolved or closed: the resolution
 * deadline stops running then; the closing that confirms it may come later.
 */
function resolvedAt(t: Ticket): number | null {
  if (t.status !== 'resolved' && t.status !== 'closed') return null;
  return t.resolvedAt ?? t.closedAt;
}

export type DeadlineState = { kind: 'met'; at: number } | { kind: 'running'; left: number } | { kind: 'missed'; by: number; met?: number };

/** Where a deadline stands at `now`: met (and when), still running, or missed (and by how much). */
export function deadlineState(deadline: number, doneAt: number | null, now: number): DeadlineState {
  if (doneAt !== null) return doneAt <= deadline ? { kind: 'met', at: doneAt } : { kind: 'missed', by: doneAt - deadline, met: doneAt };
  return now <= deadline ? { kind: 'running', left: deadline - now } : { kind: 'missed', by: now - deadline };
}

export function responseState(t: Ticket, now: number): DeadlineState {
  return deadlineState(t.respondBy, t.respondedAt, now);
}

export function resolutionState(t: Ticket, now: number): DeadlineState {
  return deadlineState(t.resolveBy, resolvedAt(t), now);
}

/**
 * Red in the inbox while the ticket is open: the server flagged a missed deadline (the flag
 * stays as the record of the miss), or a deadline passed since and the flag is on its way.
 */
export function isOverdue(t: Ticket, now: number): boolean {
  if (t.status === CLOSED) return false;
  return t.red || responseState(t, now).kind === 'missed' || resolutionState(t, now).kind === 'missed';
}

/** The moves to offer for a ticket's status (docs/TICKETS.md section 2); the server decides in the end. */
export function availableActions(t: Ticket): TicketAction[] {
  const next = TRANSITIONS[t.status];
  const actions: TicketAction[] = [];
  if (next.includes('acknowledged')) actions.push('ack');
  if (next.includes('in_progress')) actions.push('start');
  if (next.includes('resolved')) actions.push('resolve');
  if (next.includes('closed')) actions.push('close');
  if (t.status !== CLOSED) actions.push('feedback');
  if (WORKING_STATUSES.includes(t.status)) actions.push('reassign');
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

export function matches(t: Ticket, f: InboxFilter, now: number): boolean {
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
export function inboxOrder(now: number): (a: Ticket, b: Ticket) => number {
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
