/**
 * Timeliness KPIs and whistle statistics, pure: computed from tickets as they stand at `asOf`.
 * The definitions are in docs/TICKETS.md; each field below names the one it implements.
 */
import type { Ticket } from '../schemas.js';

export interface ResponseKpi {
  /** Tickets whose response is decided: responded, or past respondBy without a response. */
  due: number;
  /** Responded at or before respondBy. */
  onTime: number;
  /** Responded after respondBy. */
  late: number;
  /** Not responded and past respondBy. */
  missed: number;
  /** Not responded and respondBy still ahead: not counted in the rate. */
  pending: number;
  /** 呼应及时率 = onTime / due; null when nothing is due. */
  rate: number | null;
  /** Mean time from dispatch to the holder's response, over responded tickets (ms). */
  meanMs: number | null;
}

export interface HandlingKpi {
  closed: number;
  /** Closed at or before resolveBy. */
  closedOnTime: number;
  /** Not closed and past resolveBy. */
  openOverdue: number;
  /** 处置及时率 = closedOnTime / (closed + openOverdue); null when both are zero. */
  rate: number | null;
  /** Mean time from creation to the confirmed closing, over closed tickets (ms). */
  meanMsToClose: number | null;
}

export interface WhistleCount {
  /** The grade, category, zone or department; null for tickets outside any zone. */
  key: string | null;
  /** Tickets (whistles blown). */
  tickets: number;
  /** Alerts merged into them. */
  alerts: number;
}

export interface Kpis {
  tickets: number;
  /** Tickets flagged red (a deadline was missed at some point). */
  red: number;
  response: ResponseKpi;
  handling: HandlingKpi;
  byGrade: WhistleCount[];
  byCategory: WhistleCount[];
  byZone: WhistleCount[];
  byDepartment: WhistleCount[];
}

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);

export function responseKpi(tickets: readonly Ticket[], asOf: number): ResponseKpi {
  let onTime = 0;
  let late = 0;
  let missed = 0;
  let pending = 0;
  const times: number[] = [];
  for (const t of tickets) {
    if (t.respondedAt !== null) {
      if (t.respondedAt <= t.respondBy) onTime++;
      else late++;
      times.push(t.respondedAt - t.dispatchedAt);
    } else if (t.respondBy <= asOf) {
      missed++;
    } else {
      pending++;
    }
  }
  const due = onTime + late + missed;
  return { due, onTime, late, missed, pending, rate: ratio(onTime, due), meanMs: mean(times) };
}

export function handlingKpi(tickets: readonly Ticket[], asOf: number): HandlingKpi {
  let closed = 0;
  let closedOnTime = 0;
  let openOverdue = 0;
  const times: number[] = [];
  for (const t of tickets) {
    if (t.closedAt !== null) {
      closed++;
      if (t.closedAt <= t.resolveBy) closedOnTime++;
      times.push(t.closedAt - t.createdAt);
    } else if (t.resolveBy <= asOf) {
      openOverdue++;
    }
  }
  return { closed, closedOnTime, openOverdue, rate: ratio(closedOnTime, closed + openOverdue), meanMsToClose: mean(times) };
}

/** Counts per key, most tickets first, then by key. */
export function whistles(tickets: readonly Ticket[], keyOf: (t: Ticket) => string | null): WhistleCount[] {
  const counts = new Map<string | null, WhistleCount>();
  for (const t of tickets) {
    const key = keyOf(t);
    const c = counts.get(key) ?? { key, tickets: 0, alerts: 0 };
    c.tickets++;
    c.alerts += t.alertCount;
    counts.set(key, c);
  }
  return [...counts.values()].sort((a, b) => b.tickets - a.tickets || String(a.key ?? '').localeCompare(String(b.key ?? '')));
}

export function computeKpis(tickets: readonly Ticket[], asOf: number): Kpis {
  return {
    tickets: tickets.length,
    red: tickets.filter((t) => t.red).length,
    response: responseKpi(tickets, asOf),
    handling: handlingKpi(tickets, asOf),
    byGrade: whistles(tickets, (t) => t.grade),
    byCategory: whistles(tickets, (t) => t.category),
    byZone: whistles(tickets, (t) => t.zoneId),
    byDepartment: whistles(tickets, (t) => t.department),
  };
}

export interface SubcenterKpi {
  key: string;
  tickets: number;
  response: ResponseKpi;
  handling: HandlingKpi;
}

/** The same rates per holding unit, for the district's comparison table. */
export function kpisBySubcenter(tickets: readonly Ticket[], asOf: number): SubcenterKpi[] {
  const groups = new Map<string, Ticket[]>();
  for (const t of tickets) {
    const list = groups.get(t.subcenterId) ?? [];
    list.push(t);
    groups.set(t.subcenterId, list);
  }
  return [...groups]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, list]) => ({ key, tickets: list.length, response: responseKpi(list, asOf), handling: handlingKpi(list, asOf) }));
}
