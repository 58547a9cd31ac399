/**
 * KPIs as the district audits them (GOVERNANCE.md): response-timeliness (呼应及时率) and
 * handling-timeliness (处置及时率) rates per sub-center and grade, and whistle counts per zone
 * and category. The server's `/api/kpis` is the reference; this computes the same figures from
 * the tickets at hand while a server does not offer it.
 */
import type { Grade } from '../../core/schemas.js';
import type { KpiRow } from './api.js';
import { GRADES, resolutionState, responseState, type TicketView } from './tickets.js';

/**
 * A deadline counts once it is due or met: a ticket whose response deadline has not come yet
 * and that nobody answered yet is neither timely nor late.
 */
export function kpiRows(tickets: readonly TicketView[], now: number): KpiRow[] {
  const rows = new Map<string, KpiRow>();
  for (const t of tickets) {
    const key = `${t.subcenterId}|${t.grade}`;
    let row = rows.get(key);
    if (!row) {
      row = { subcenterId: t.subcenterId, grade: t.grade, tickets: 0, responseDue: 0, respondedInTime: 0, resolutionDue: 0, resolvedInTime: 0, responseRate: null, handlingRate: null };
      rows.set(key, row);
    }
    row.tickets++;
    const response = responseState(t, now);
    if (response.kind !== 'running') {
      row.responseDue++;
      if (response.kind === 'met') row.respondedInTime++;
    }
    const resolution = resolutionState(t, now);
    if (resolution.kind !== 'running') {
      row.resolutionDue++;
      if (resolution.kind === 'met') row.resolvedInTime++;
    }
  }
  for (const row of rows.values()) {
    row.responseRate = row.responseDue ? row.respondedInTime / row.responseDue : null;
    row.handlingRate = row.resolutionDue ? row.resolvedInTime / row.resolutionDue : null;
  }
  return [...rows.values()].sort((a, b) => a.subcenterId.localeCompare(b.subcenterId) || GRADES.indexOf(a.grade) - GRADES.indexOf(b.grade));
}

export interface RateGroup {
  key: string;
  tickets: number;
  responseRate: number | null;
  handlingRate: number | null;
}

/** Rows folded by one dimension (sub-center or grade), rates recomputed from the counts. */
export function groupRates(rows: readonly KpiRow[], by: 'subcenterId' | 'grade'): RateGroup[] {
  const groups = new Map<string, { tickets: number; rd: number; ri: number; hd: number; hi: number }>();
  for (const r of rows) {
    const g = groups.get(r[by]) ?? { tickets: 0, rd: 0, ri: 0, hd: 0, hi: 0 };
    g.tickets += r.tickets;
    g.rd += r.responseDue;
    g.ri += r.respondedInTime;
    g.hd += r.resolutionDue;
    g.hi += r.resolvedInTime;
    groups.set(r[by], g);
  }
  const keys = by === 'grade' ? GRADES.filter((g: Grade) => groups.has(g)) : [...groups.keys()].sort();
  return keys.map((key) => {
    const g = groups.get(key)!;
    return { key, tickets: g.tickets, responseRate: g.rd ? g.ri / g.rd : null, handlingRate: g.hd ? g.hi / g.hd : null };
  });
}

/** Whistles: alerts merged into tickets, counted per category and per zone (`''` outside zones). */
export function whistleCounts(tickets: readonly TicketView[]): { byCategory: Map<string, number>; byZone: Map<string, number> } {
  const byCategory = new Map<string, number>();
  const byZone = new Map<string, number>();
  for (const t of tickets) {
    const n = t.alerts.length;
    byCategory.set(t.category, (byCategory.get(t.category) ?? 0) + n);
    byZone.set(t.zoneId ?? '', (byZone.get(t.zoneId ?? '') ?? 0) + n);
  }
  return { byCategory, byZone };
}
