/**
 * Timeliness KPIs and whistle statistics, pure: computed from tickets as they stand at `asOf`.
 * The definitions are in docs/TICKETS.md; each field below names the one it implements.
 */
import type { HandlingKpi, Kpis, ResponseKpi, SubcenterKpi, WhistleCount } from '../api-schemas.js';
import type { Ticket } from '../schemas.js';

/** The shapes are the API's answer (core/api-schemas.ts): defined once, as zod schemas. */
export type { HandlingKpi, Kpis, ResponseKpi, SubcenterKpi, WhistleCount };

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
