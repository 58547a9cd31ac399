import { Decisions } from '../../core/api-schemas.js';
import type { Ticket } from '../../core/schemas.js';
import { pendingExtension } from '../../core/tickets/extensions.js';
import { OPEN_STATUSES } from '../../core/tickets/lifecycle.js';
import { awaitsDistrict } from '../../core/tickets/reports.js';
import { pendingReturn } from '../../core/tickets/returns.js';
import { unitsUnder } from '../../core/tickets/units.js';
import { unitOf } from '../context.js';
import { route, type Route } from '../route-table.js';

/** Open tickets one look at the waiting decisions reads; beyond it the answer says `truncated`. */
export const DECISIONS_SCAN_LIMIT = 5_000;

/**
 * `GET /api/decisions`: what waits on the caller's decision. Returns (退单) waiting for the
 * district's ruling; requests for more time (延期) waiting for this center's answer; reported
 * tickets whose reporter did not confirm in time, for the district to close. The admin sees
 * every one of them.
 */
export const decisionRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/decisions',
    operationId: 'listDecisions',
    summary: 'What waits on this center: returns to rule on, extensions to decide, reported tickets to close',
    tag: 'returns',
    access: 'units',
    responses: { 200: { description: 'Open tickets waiting on the caller, by what they wait for', schema: Decisions } },
    handler: async (_input, req, _reply, ctx) => {
      const index = ctx.cityIndex();
      const unit = unitOf(req);
      const districtId = index.city.district.id;
      // The district decides for everyone; a sub-center for its communities and grids.
      const wide = unit === undefined || unit === districtId;
      const tickets = await ctx.state.tickets.list({ status: [...OPEN_STATUSES], limit: DECISIONS_SCAN_LIMIT, ...(wide ? {} : { subcenterId: unitsUnder(index, unit).slice(1) }) });
      const returns: Ticket[] = [];
      const extensions: Ticket[] = [];
      const confirmations: Ticket[] = [];
      for (const t of tickets) {
        if (pendingReturn(t) && (unit === undefined || (unit === districtId && t.subcenterId === districtId))) returns.push(t);
        const ext = pendingExtension(t);
        if (ext && (unit === undefined || ext.approver === unit)) extensions.push(t);
        if (awaitsDistrict(t) && (unit === undefined || unit === districtId)) confirmations.push(t);
      }
      return { returns, extensions, confirmations, truncated: tickets.length >= DECISIONS_SCAN_LIMIT };
    },
  }),
];
