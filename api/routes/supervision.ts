import type { FastifyRequest } from 'fastify';
import { actOnOrder, type SupervisionAction } from '../../core/tickets/supervision.js';
import { commitTicket, withConflictRetry, type CommitContext } from '../../core/tickets/commit.js';
import { appendTimeline } from '../../core/tickets/timeline.js';
import { swError } from '../../core/errors.js';
import type { SupervisionFilter } from '../../core/ports.js';
import { SupervisionActionBody, SupervisionNoteBody, SupervisionQuery, type SupervisionOrder } from '../../core/schemas.js';
import { IdParams, UNITS_ALLOWED, actorOf, parse, unitOf, type RouteModule } from '../context.js';

/**
 * Supervision orders (督办单). The center they are issued to sees them, acknowledges and closes
 * them; the supervised unit sees them and may answer with a note. Each action is also a line in
 * the ticket's timeline, saved with the order in one transaction.
 */
export const supervisionRoutes: RouteModule = (api, ctx) => {
  const { state, clock } = ctx;
  const commit: CommitContext = { tickets: state.tickets, bus: ctx.bus, cityIndex: ctx.cityIndex, metrics: ctx.metrics };

  async function visible(req: FastifyRequest, id: string): Promise<SupervisionOrder> {
    const order = await state.supervision.get(id);
    const unit = unitOf(req);
    if (!order || (unit !== undefined && order.issuedTo !== unit && order.subcenterId !== unit)) throw swError('SW_ERR_NOT_FOUND', `supervision order ${id}`);
    return order;
  }

  api.get('/api/supervision-orders', UNITS_ALLOWED, async (req) => {
    const q = parse(SupervisionQuery, req.query, 'query');
    const filter: SupervisionFilter = { limit: q.limit };
    const unit = unitOf(req);
    if (unit !== undefined) filter.unitId = unit;
    if (q.status !== undefined) filter.status = q.status;
    return { supervisionOrders: await state.supervision.list(filter) };
  });

  api.get('/api/supervision-orders/:id', UNITS_ALLOWED, async (req) => visible(req, parse(IdParams, req.params, 'params').id));

  const route = (path: string, action: SupervisionAction, supervisedMay: boolean): void => {
    api.post(`/api/supervision-orders/:id/${path}`, UNITS_ALLOWED, async (req) => {
      const { id } = parse(IdParams, req.params, 'params');
      const { note } = action === 'note' ? parse(SupervisionNoteBody, req.body, 'body') : parse(SupervisionActionBody, req.body, 'body');
      return withConflictRetry(async () => {
        const order = await visible(req, id);
        const unit = unitOf(req);
        if (unit !== undefined && unit !== order.issuedTo && !supervisedMay) throw swError('SW_ERR_FORBIDDEN', `${path} supervision order ${id}: only ${order.issuedTo} can`);
        const ticket = await state.tickets.get(order.ticketId);
        if (!ticket) throw swError('SW_ERR_NOT_FOUND', `ticket ${order.ticketId}`);
        const now = clock.now();
        const actor = actorOf(req);
        const updated = actOnOrder(order, action, actor, now, note);
        const entry = { at: now, actor, action: `supervision_${updated.status === order.status ? 'note' : updated.status}`, note: note === undefined ? order.id : `${order.id}: ${note}` };
        const next = { ...ticket, updatedAt: now, timeline: appendTimeline(ticket.timeline, entry), version: ticket.version + 1 };
        await commitTicket(commit, next, 'supervision.updated', now, { recipients: [order.issuedTo, order.subcenterId], supervisionOrder: updated });
        return updated;
      });
    });
  };
  route('ack', 'acknowledge', false);
  route('note', 'note', true);
  route('close', 'close', false);
};
