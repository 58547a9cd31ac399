/**
 * The KPIs of the governance loop a district audits, pure, computed from tickets as they stand
 * at `asOf`: check-in timeliness (报到及时率) per department, returns per party, extensions,
 * recurrence, and reporters' satisfaction. The definitions are in docs/TICKETS.md (section 4);
 * each function names the one it implements.
 */
import type { CheckInKpi, ExtensionKpi, GovernanceKpis, RecurrenceKpi, ReturnKpi, SatisfactionKpi } from '../api-schemas.js';
import type { Ticket } from '../schemas.js';

export type { CheckInKpi, ExtensionKpi, GovernanceKpis, RecurrenceKpi, ReturnKpi, SatisfactionKpi };

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);
const byKey = <T extends { key: string | null }>(rows: Iterable<T>): T[] => [...rows].sort((a, b) => String(a.key).localeCompare(String(b.key)));

/** Check-in timeliness per department, and over all departments (the first row, key null). */
export function checkInKpis(tickets: readonly Ticket[], asOf: number): CheckInKpi[] {
  const rows = new Map<string, CheckInKpi & { times: number[] }>();
  const total: CheckInKpi & { times: number[] } = { key: null, summoned: 0, onTime: 0, late: 0, missed: 0, released: 0, pending: 0, rate: null, meanMs: null, times: [] };
  for (const t of tickets) {
    for (const c of t.coHandlers ?? []) {
      let row = rows.get(c.department);
      if (!row) rows.set(c.department, (row = { key: c.department, summoned: 0, onTime: 0, late: 0, missed: 0, released: 0, pending: 0, rate: null, meanMs: null, times: [] }));
      for (const r of [row, total]) {
        r.summoned++;
        if (c.checkedInAt !== null) {
          if (c.checkedInAt <= c.checkInBy) r.onTime++;
          else r.late++;
          r.times.push(c.checkedInAt - c.summonedAt);
        } else if (c.releasedAt !== null && c.releasedAt < c.checkInBy) {
          r.released++;
        } else if (c.checkInBy <= asOf) {
          r.missed++;
        } else {
          r.pending++;
        }
      }
    }
  }
  const finish = ({ times, ...r }: CheckInKpi & { times: number[] }): CheckInKpi => ({ ...r, rate: ratio(r.onTime, r.onTime + r.late + r.missed), meanMs: mean(times) });
  return [total, ...byKey(rows.values())].map(finish);
}

/** Returns (退单) per party: every unit that held and every department that led a ticket of the population. */
export function returnKpis(tickets: readonly Ticket[]): ReturnKpi[] {
  const rows = new Map<string, ReturnKpi>();
  const row = (key: string): ReturnKpi => {
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { key, handled: 0, returned: 0, returns: 0, upheld: 0, rejected: 0, pending: 0, rate: null, upheldRate: null }));
    return r;
  };
  for (const t of tickets) {
    const parties = new Set([...(t.holders ?? [t.subcenterId]).map((u) => `unit:${u}`), ...(t.leads ?? [t.department]).map((d) => `department:${d}`)]);
    for (const r of t.returns ?? []) parties.add(r.party);
    for (const p of parties) row(p).handled++;
    const returners = new Set<string>();
    for (const r of t.returns ?? []) {
      const k = row(r.party);
      k.returns++;
      returners.add(r.party);
      if (r.ruling === null) k.pending++;
      else if (r.ruling.decision === 'reassigned') k.upheld++;
      else k.rejected++;
    }
    for (const p of returners) row(p).returned++;
  }
  return byKey(rows.values()).map((r) => ({ ...r, rate: ratio(r.returned, r.handled), upheldRate: ratio(r.upheld, r.upheld + r.rejected) }));
}

/** Deadline extensions (延期). The handling KPI already judges each ticket against the deadline in force. */
export function extensionKpi(tickets: readonly Ticket[]): ExtensionKpi {
  const out: ExtensionKpi = { tickets: tickets.length, requestedTickets: 0, requests: 0, approved: 0, refused: 0, lapsed: 0, pending: 0, extended: 0, rate: null, onTimeByExtension: 0, byUnit: [] };
  const units = new Map<string, { key: string; requests: number; approved: number }>();
  for (const t of tickets) {
    const asked = t.extensions ?? [];
    if (asked.length === 0) continue;
    out.requestedTickets++;
    let firstApproved: number | undefined;
    for (const e of asked) {
      out.requests++;
      const u = units.get(e.subcenterId) ?? { key: e.subcenterId, requests: 0, approved: 0 };
      u.requests++;
      units.set(e.subcenterId, u);
      if (e.decision === null) out.pending++;
      else if (e.decision.approved) {
        out.approved++;
        u.approved++;
        firstApproved ??= e.from;
      } else if (e.decision.by === 'system') out.lapsed++;
      else out.refused++;
    }
    if (firstApproved !== undefined) {
      out.extended++;
      if (t.closedAt !== null && t.closedAt <= t.resolveBy && t.closedAt > firstApproved) out.onTimeByExtension++;
    }
  }
  out.rate = ratio(out.extended, out.tickets);
  out.byUnit = byKey(units.values());
  return out;
}

/** How many days back a closed incident at the same place makes a new ticket a recurrence. */
export const DEFAULT_RECURRENCE_DAYS = 30;

/**
 * Recurrence: a ticket recurs when another ticket with the same merge key (the same zone and
 * category; outside zones, the same device and category) was closed no more than `withinDays`
 * before it was created. `earlier` holds the tickets created before the period that may have
 * closed within the look-back.
 */
export function recurrenceKpi(tickets: readonly Ticket[], earlier: readonly Ticket[], withinDays: number): RecurrenceKpi {
  const window = withinDays * 86_400_000;
  const closes = new Map<string, number[]>();
  for (const t of [...earlier, ...tickets]) {
    if (t.closedAt === null) continue;
    const list = closes.get(t.mergeKey) ?? [];
    list.push(t.closedAt);
    closes.set(t.mergeKey, list);
  }
  const places = new Map<string, { zoneId: string | null; category: string; tickets: number; recurring: number }>();
  let recurring = 0;
  for (const t of tickets) {
    const recurs = (closes.get(t.mergeKey) ?? []).some((at) => at <= t.createdAt && t.createdAt - at <= window);
    const key = `${t.zoneId ?? ''}|${t.category}`;
    const p = places.get(key) ?? { zoneId: t.zoneId, category: t.category, tickets: 0, recurring: 0 };
    p.tickets++;
    if (recurs) {
      p.recurring++;
      recurring++;
    }
    places.set(key, p);
  }
  const byPlace = [...places.values()].sort((a, b) => b.recurring - a.recurring || b.tickets - a.tickets || `${a.zoneId}|${a.category}`.localeCompare(`${b.zoneId}|${b.category}`));
  return { withinDays, tickets: tickets.length, recurring, rate: ratio(recurring, tickets.length), byPlace };
}

/**
 * Reporters' satisfaction where reporters rate the closing (上报人确认结案): the answers of every
 * reporter, also of those whose report joined a sensor's ticket; the closings and what waits,
 * of the tickets a report opened (the others close by their sensor).
 */
export function satisfactionKpi(tickets: readonly Ticket[]): SatisfactionKpi {
  const out: SatisfactionKpi = { reported: 0, rated: 0, satisfied: 0, basicallySatisfied: 0, dissatisfied: 0, rate: null, notFixed: 0, closedByReporter: 0, closedByDistrict: 0, awaitingReporter: 0, awaitingDistrict: 0 };
  for (const t of tickets) {
    for (const r of t.ratings ?? []) {
      out.rated++;
      if (r.satisfaction === 'satisfied') out.satisfied++;
      else if (r.satisfaction === 'basically_satisfied') out.basicallySatisfied++;
      else out.dissatisfied++;
      if (!r.fixed) out.notFixed++;
    }
    if (t.origin !== 'report') continue;
    out.reported++;
    if (t.closure?.by === 'reporter') out.closedByReporter++;
    if (t.closure?.by === 'district') out.closedByDistrict++;
    if (t.status === 'resolved') {
      if (t.confirmationTimedOut != null && t.confirmationTimedOut.resolvedAt === t.resolvedAt) out.awaitingDistrict++;
      else out.awaitingReporter++;
    }
  }
  out.rate = ratio(out.satisfied + out.basicallySatisfied, out.rated);
  return out;
}

export function computeGovernanceKpis(tickets: readonly Ticket[], earlier: readonly Ticket[], asOf: number, recurrenceDays = DEFAULT_RECURRENCE_DAYS): GovernanceKpis {
  return {
    checkIns: checkInKpis(tickets, asOf),
    returns: returnKpis(tickets),
    extensions: extensionKpi(tickets),
    recurrence: recurrenceKpi(tickets, earlier, recurrenceDays),
    satisfaction: satisfactionKpi(tickets),
  };
}
