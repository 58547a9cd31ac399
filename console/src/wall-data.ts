/**
 * The wall view's figures, pure: the day's counts from the tickets in hand, and the latest
 * alerts across them. The timeliness rates of the day come from `GET /api/kpis` (the server's
 * definitions, docs/TICKETS.md section 4).
 */
import type { Grade, Ticket, TicketAlert } from '../../core/schemas.js';
import { GRADES, isOverdue } from './tickets.js';

/** Local midnight of the day `now` falls in: "today" on a wall is the command center's day. */
export function startOfDay(now: number): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

export interface DayCounts {
  open: number;
  overdue: number;
  newToday: number;
  closedToday: number;
  /** Open tickets per grade. */
  byGrade: Record<Grade, number>;
}

export function dayCounts(tickets: readonly Ticket[], now: number): DayCounts {
  const day = startOfDay(now);
  const byGrade = Object.fromEntries(GRADES.map((g) => [g, 0])) as Record<Grade, number>;
  const counts = { open: 0, overdue: 0, newToday: 0, closedToday: 0, byGrade };
  for (const t of tickets) {
    if (t.createdAt >= day) counts.newToday++;
    if (t.status === 'closed') {
      if ((t.closedAt ?? 0) >= day) counts.closedToday++;
      continue;
    }
    counts.open++;
    byGrade[t.grade]++;
    if (isOverdue(t, now)) counts.overdue++;
  }
  return counts;
}

export interface AlertLine {
  alert: TicketAlert;
  ticketId: string;
  grade: Grade;
  subcenterId: string;
}

/** The `n` alerts that changed last (fired, or fired again), newest first. */
export function latestAlerts(tickets: readonly Ticket[], n: number): AlertLine[] {
  const lines: AlertLine[] = [];
  for (const t of tickets) for (const alert of t.alerts) lines.push({ alert, ticketId: t.id, grade: t.grade, subcenterId: t.subcenterId });
  return lines.sort((a, b) => b.alert.lastSeen - a.alert.lastSeen || a.alert.fingerprint.localeCompare(b.alert.fingerprint)).slice(0, n);
}
