import { DEFAULT_RECURRENCE_DAYS, computeGovernanceKpis } from '../../core/tickets/governance-kpis.js';
import { computeKpis, kpisBySubcenter } from '../../core/tickets/kpis.js';
import { unitsUnder } from '../../core/tickets/units.js';
import { KpiReport } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import type { TicketFilter } from '../../core/ports.js';
import { KpiQuery, type Ticket } from '../../core/schemas.js';
import { departmentOf, unitOf } from '../context.js';
import { route, type Route } from '../route-table.js';

/** The period KPIs cover when the query gives no `from`. */
export const DEFAULT_KPI_PERIOD_MS = 30 * 86_400_000;
/** Most tickets one KPI query reads; beyond it the answer says `truncated`. */
export const KPI_TICKET_LIMIT = 100_000;

const DAY_MS = 86_400_000;

/**
 * `GET /api/kpis?subcenter=&department=&grade=&from=&to=&recurrenceDays=`: timeliness rates and
 * whistle statistics over the tickets created in [from, to), as they stand now, and the
 * governance KPIs (check-ins, returns, extensions, recurrence, satisfaction); definitions in
 * docs/TICKETS.md. A unit token gets its own figures (with the communities and grids below it),
 * a department token those of the tickets it led or co-handled.
 */
export const kpiRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/kpis',
    operationId: 'getKpis',
    summary: 'Timeliness rates, whistle statistics and the governance KPIs',
    description:
      'Over the tickets created in [from, to) (the last 30 days by default), as they stand now; definitions in docs/TICKETS.md. The timeliness rates judge each ticket\'s current holder; check-ins, returns, extensions, recurrence and satisfaction cover every ticket the scope handled.',
    tag: 'kpis',
    access: 'wall',
    departments: true,
    query: KpiQuery,
    responses: { 200: { description: 'The figures', schema: KpiReport } },
    handler: async ({ query: q }, req, _reply, { state, clock, cityIndex }) => {
      const unit = unitOf(req);
      const department = departmentOf(req);
      const scope = unit === undefined ? undefined : unitsUnder(cityIndex(), unit);
      if (scope !== undefined && q.subcenter !== undefined && !scope.includes(q.subcenter)) throw swError('SW_ERR_FORBIDDEN', `read the KPIs of ${q.subcenter}`);
      if (department !== undefined && ((q.department !== undefined && q.department !== department) || q.subcenter !== undefined)) throw swError('SW_ERR_FORBIDDEN', `read the KPIs of ${q.subcenter ?? q.department}`);
      const asOf = clock.now();
      const to = q.to ?? asOf;
      const from = q.from ?? to - DEFAULT_KPI_PERIOD_MS;
      if (from >= to) throw swError('SW_ERR_BODY_INVALID', 'query.from must be before query.to');
      const recurrenceDays = q.recurrenceDays ?? DEFAULT_RECURRENCE_DAYS;
      // The look-back of recurrence too: a ticket closed before the period may make one in it recur.
      const filter: TicketFilter = { createdFrom: from - recurrenceDays * DAY_MS, createdTo: to, limit: KPI_TICKET_LIMIT };
      if (q.grade !== undefined) filter.grade = q.grade;
      const all = await state.tickets.list(filter);
      const inPeriod = all.filter((t) => t.createdAt >= from);
      const holders = q.subcenter !== undefined ? [q.subcenter] : scope;
      const dept = department ?? q.department;
      const joined = (t: Ticket): boolean => dept === undefined || t.department === dept || (t.coHandlers ?? []).some((c) => c.department === dept);
      // The timeliness rates judge the current holder; the governance KPIs everyone who handled the ticket.
      const held = inPeriod.filter((t) => (holders === undefined || holders.includes(t.subcenterId)) && joined(t));
      const handled = inPeriod.filter((t) => (holders === undefined || (t.holders ?? [t.subcenterId]).some((h) => holders.includes(h))) && (joined(t) || (dept !== undefined && (t.leads ?? []).includes(dept))));
      return {
        asOf,
        from,
        to,
        subcenter: q.subcenter ?? unit ?? null,
        department: dept ?? null,
        grade: q.grade ?? null,
        truncated: all.length >= KPI_TICKET_LIMIT,
        ...computeKpis(held, asOf),
        bySubcenter: kpisBySubcenter(held, asOf),
        governance: computeGovernanceKpis(handled, all.filter((t) => t.createdAt < from), asOf, recurrenceDays),
      };
    },
  }),
];
