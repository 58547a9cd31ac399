import { swError } from '../../core/errors.js';
import { pendingReturn, returnTicket, ruleOnReturn, type ReturnContext } from '../../core/tickets/returns.js';
import { unitById } from '../../core/tickets/units.js';
import { ReturnBody, ReturnRulingBody, Ticket } from '../../core/schemas.js';
import { IdParams, actorOf } from '../context.js';
import { route, type Route, type RouteContext } from '../route-table.js';
import { actOnTicket } from '../ticket-access.js';
import { CHANGE_ERRORS } from './tickets.js';

function returnContext(ctx: RouteContext): ReturnContext {
  const { city } = ctx.cityIndex();
  return { sla: city.sla, districtId: city.district.id, policy: city.sla.governance.returns };
}

/**
 * Returns (退单). The holder's unit or its lead department returns a ticket as not its
 * responsibility; it goes to the district command center, whose unit (or the admin) rules:
 * re-dispatched elsewhere, or sent back with the ruling.
 */
export const returnRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/tickets/:id/return',
    operationId: 'returnTicket',
    summary: 'Return a ticket as not the holder\'s responsibility (退单)',
    description:
      'By the holder\'s unit or its lead department (the admin reassigns instead), with a reason. The ticket goes to the district command center until it rules. A party whose return was sent back may not return the ticket again, and a ticket takes at most `governance.returns.maxPerTicket` returns (sla.yaml): then SW_ERR_RETURN_LIMIT.',
    tag: 'returns',
    access: 'units',
    departments: true,
    params: IdParams,
    body: ReturnBody,
    responses: { 200: { description: 'The ticket, now held by the district command center', schema: Ticket } },
    errors: [...CHANGE_ERRORS, 'SW_ERR_RETURN_REFUSED', 'SW_ERR_RETURN_LIMIT'],
    handler: async ({ params: { id }, body: { reason } }, req, _reply, ctx) =>
      actOnTicket(req, ctx, id, ['holder', 'lead'], 'return', (t, now) => ({
        ticket: returnTicket(t, actorOf(req), reason, now, returnContext(ctx)),
        type: 'ticket.returned',
        recipients: [t.subcenterId],
      })),
  }),
  route({
    method: 'POST',
    url: '/api/tickets/:id/return/ruling',
    operationId: 'ruleOnReturn',
    summary: "The district's ruling on a return",
    description: 'By the district command center (which holds a returned ticket) or the admin: `reassigned` re-dispatches it to another unit and/or department (the return is upheld), `sent_back` gives it back to the returner; always with a note.',
    tag: 'returns',
    access: 'units',
    departments: true,
    params: IdParams,
    body: ReturnRulingBody,
    responses: { 200: { description: 'The ticket, dispatched to its new (or former) holder', schema: Ticket } },
    errors: [...CHANGE_ERRORS, 'SW_ERR_RETURN_REFUSED', 'SW_ERR_UNIT_UNKNOWN', 'SW_ERR_DEPARTMENT_UNKNOWN'],
    handler: async ({ params: { id }, body }, req, _reply, ctx) => {
      const index = ctx.cityIndex();
      if (body.subcenter !== undefined && !unitById(index, body.subcenter)) throw swError('SW_ERR_UNIT_UNKNOWN', body.subcenter);
      if (body.department !== undefined && !index.city.departments.has(body.department)) throw swError('SW_ERR_DEPARTMENT_UNKNOWN', body.department);
      return actOnTicket(req, ctx, id, ['admin', 'holder'], 'rule on the return of', (t, now, role) => {
        // The district rules: it holds a returned ticket until then.
        if (role === 'holder' && t.subcenterId !== index.city.district.id) throw swError('SW_ERR_FORBIDDEN', `rule on the return of ticket ${t.id}: only the district command center can`);
        const pending = pendingReturn(t);
        const ruling = body.decision === 'sent_back' ? { decision: 'sent_back' as const, note: body.note } : { decision: 'reassigned' as const, subcenterId: body.subcenter, department: body.department, note: body.note };
        const next = ruleOnReturn(t, ruling, actorOf(req), now, returnContext(ctx));
        // The returner hears the ruling: its unit, or the unit that held the ticket for its department.
        return { ticket: next, type: 'ticket.reassigned', recipients: [t.subcenterId, ...(pending ? [pending.subcenterId] : [])] };
      });
    },
  }),
];
