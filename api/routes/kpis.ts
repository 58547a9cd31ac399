import { computeKpis, kpisBySubcenter } from '../../core/tickets/kpis.js';
import { KpiReport } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import type { TicketFilter } from '../../core/ports.js';
import { KpiQuery } from '../../core/schemas.js';
import { unitOf } from '../context.js';
import { route, type Route } from '../route-table.js';

/** The period KPIs cover when the query gives no `from`. */
export const DEFAULT_KPI_PERIOD_MS = 30 * 86_400_000;
/** Most tickets one KPI query reads; beyond it the answer says `truncated`. */
export const KPI_TICKET_LIMIT = 100_000;

/**
 * `GET /api/kpis?subcenter=&grade=&from=&to=`: timeliness rates and whistle statistics over the
 * tickets created in [from, to), as they stand now (definitions in docs/TICKETS.md). A unit
 * token gets its own unit's figures.
 */
export const kpiRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/kpis',
    operationId: 'getKpis',
    summary: 'Timeliness rates and whistle statistics',
    description: 'Over the tickets created in [from, to) (the last 30 days by default), as they stand now; definitions in docs/TICKETS.md.',
    tag: 'kpis',
    access: 'wall',
    query: KpiQuery,
    responses: { 200: { description: 'The figures', schema: KpiReport } },
    handler: async ({ query: q }, req, _reply, { state, clock }) => {
      const unit = unitOf(req);
      if (unit !== undefined && q.subcenter !== undefined && q.subcenter !== unit) throw swError('SW_ERR_FORBIDDEN', `read the KPIs of ${q.subcenter}`);
      const asOf = clock.now();
      const to = q.to ?? asOf;
      const from = q.from ?? to - DEFAULT_KPI_PERIOD_MS;
      if (from >= to) throw swError('SW_ERR_BODY_INVALID', 'query.from must be before query.to');
      const subcenter = unit ?? q.subcenter;
      const filter: TicketFilter = { createdFrom: from, createdTo: to, limit: KPI_TICKET_LIMIT };
      if (subcenter !== undefined) filter.subcenterId = subcenter;
      if (q.grade !== undefined) filter.grade = q.grade;
      const tickets = await state.tickets.list(filter);
      return {
        asOf,
        from,
        to,
        subcenter: subcenter ?? null,
        grade: q.grade ?? null,
        truncated: tickets.length >= KPI_TICKET_LIMIT,
        ...computeKpis(tickets, asOf),
        bySubcenter: kpisBySubcenter(tickets, asOf),
      };
    },
  }),
];
