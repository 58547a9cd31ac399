import type { FastifyRequest } from 'fastify';
import { actOnOrder, type SupervisionAction } from '../../core/tickets/supervision.js';
import { commitTicket, withConflictRetry, type CommitContext } from '../../core/tickets/commit.js';
import { appendTimeline } from '../../core/tickets/timeline.js';
import { SupervisionOrderList } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import type { SupervisionFilter } from '../../core/ports.js';
import { SupervisionActionBody, SupervisionNoteBody, SupervisionOrder, SupervisionQuery } from '../../core/schemas.js';
import { IdParams, actorOf, departmentOf, unitOf } from '../context.js';
import { route, type Route, type RouteContext } from '../route-table.js';

/** The order, if the caller may see it: the center it is issued to, the unit supervised, the department that missed its check-in. */
async function visible(req: FastifyRequest, id: string, { state }: RouteContext): Promise<SupervisionOrder> {
  const order = await state.supervision.get(id);
  const unit = unitOf(req);
  const department = departmentOf(req);
  const seen = unit !== undefined ? order?.issuedTo === unit || order?.subcenterId === unit : department !== undefined ? order?.department === department : true;
  if (!order || !seen) throw swError('SW_ERR_NOT_FOUND', `supervision order ${id}`);
  return order;
}

/** An action on an order: its path, what it does, and whether the supervised unit may take it. */
const ACTIONS: readonly { path: string; action: SupervisionAction; supervisedMay: boolean; summary: string }[] = [
  { path: 'ack', action: 'acknowledge', supervisedMay: false, summary: 'Acknowledge a supervision order' },
  { path: 'note', action: 'note', supervisedMay: true, summary: 'Answer a supervision order with a note' },
  { path: 'close', action: 'close', supervisedMay: false, summary: 'Close a supervision order' },
];

function actionRoute({ path, action, supervisedMay, summary }: (typeof ACTIONS)[number]): Route {
  const handler = async ({ params: { id }, body: { note } }: { params: { id: string }; body: { note?: string | undefined } }, req: FastifyRequest, ctx: RouteContext): Promise<SupervisionOrder> => {
    const { state, clock } = ctx;
    const commit: CommitContext = { tickets: state.tickets, bus: ctx.bus, cityIndex: ctx.cityIndex, metrics: ctx.metrics };
    return withConflictRetry(async () => {
      const order = await visible(req, id, ctx);
      const unit = unitOf(req);
      if (unit !== undefined && unit !== order.issuedTo && !supervisedMay) throw swError('SW_ERR_FORBIDDEN', `${path} supervision order ${id}: only ${order.issuedTo} can`);
      const ticket = await state.tickets.get(order.ticketId);
      if (!ticket) throw swError('SW_ERR_NOT_FOUND', `ticket ${order.ticketId}`);
      const now = clock.now();
      const actor = actorOf(req);
      const updated = actOnOrder(order, action, actor, now, note);
      const entry = { at: now, actor, action: `supervision_${updated.status === order.status ? 'note' : updated.status}`, note: note === undefined ? order.id : `${order.id}: ${note}` };
      const next = { ...ticket, updatedAt: now, timeline: appendTimeline(ticket.timeline, entry), version: ticket.version + 1 };
      const recipients = [order.issuedTo, order.subcenterId, ...(order.department === undefined ? [] : [order.department])];
      await commitTicket(commit, next, 'supervision.updated', now, { recipients, supervisionOrder: updated });
      return updated;
    });
  };
  const common = {
    method: 'POST',
    url: `/api/supervision-orders/:id/${path}`,
    operationId: `${path}SupervisionOrder`,
    summary,
    description: supervisedMay ? 'By the center it was issued to, or the supervised unit (or department, for a missed check-in).' : 'By the center it was issued to.',
    tag: 'supervision',
    access: 'units',
    departments: supervisedMay,
    params: IdParams,
    responses: { 200: { description: 'The order as changed', schema: SupervisionOrder } },
    errors: ['SW_ERR_NOT_FOUND', 'SW_ERR_SUPERVISION_TRANSITION', 'SW_ERR_TICKET_CONFLICT'],
  } as const;
  return action === 'note'
    ? route({ ...common, body: SupervisionNoteBody, handler: async (input, req, _reply, ctx) => handler(input, req, ctx) })
    : route({ ...common, body: SupervisionActionBody, handler: async (input, req, _reply, ctx) => handler(input, req, ctx) });
}

/**
 * Supervision orders (督办单). The center they are issued to sees them, acknowledges and closes
 * them; the supervised unit sees them and may answer with a note. Each action is also a line in
 * the ticket's timeline, saved with the order in one transaction.
 */
export const supervisionRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/supervision-orders',
    operationId: 'listSupervisionOrders',
    summary: 'List supervision orders (督办单)',
    tag: 'supervision',
    access: 'units',
    query: SupervisionQuery,
    responses: { 200: { description: 'Orders issued to or about the unit (all, for the admin)', schema: SupervisionOrderList } },
    handler: async ({ query: q }, req, _reply, { state }) => {
      const filter: SupervisionFilter = { limit: q.limit };
      const unit = unitOf(req);
      if (unit !== undefined) filter.unitId = unit;
      if (q.status !== undefined) filter.status = q.status;
      return { supervisionOrders: await state.supervision.list(filter) };
    },
  }),
  route({
    method: 'GET',
    url: '/api/supervision-orders/:id',
    operationId: 'getSupervisionOrder',
    summary: 'One supervision order',
    tag: 'supervision',
    access: 'units',
    departments: true,
    params: IdParams,
    responses: { 200: { description: 'The order', schema: SupervisionOrder } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params }, req, _reply, ctx) => visible(req, params.id, ctx),
  }),
  ...ACTIONS.map(actionRoute),
];
