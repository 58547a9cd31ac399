import type { FastifyRequest } from 'fastify';
import { addFeedback, reassign, transition } from '../../core/tickets/lifecycle.js';
import { commitTicket, withConflictRetry, type CommitContext } from '../../core/tickets/commit.js';
import { unitById } from '../../core/tickets/units.js';
import { TicketDetail, TicketList } from '../../core/api-schemas.js';
import { swError, type ErrorCode } from '../../core/errors.js';
import type { OutboxItem } from '../../core/ports.js';
import { Ticket, TicketActionBody, TicketFeedbackBody, TicketQuery, TicketReassignBody, type TicketEventType, type TicketStatus } from '../../core/schemas.js';
import { IdParams, actorOf, unitOf } from '../context.js';
import { route, type Route, type RouteContext } from '../route-table.js';
import { ticketRole, type TicketRole } from '../ticket-access.js';

/** Status actions: the route suffix, the status it moves the ticket to, and its name in the interface. */
const STATUS_ACTIONS: readonly [string, TicketStatus, string][] = [
  ['ack', 'acknowledged', 'Acknowledge a ticket (签收)'],
  ['start', 'in_progress', 'Start handling a ticket (处置)'],
  ['resolve', 'resolved', 'Report a ticket handled (办结)'],
  ['close', 'closed', "Close a ticket on the operator's confirmation (结案)"],
];

/** What a ticket change may be refused with, beyond the common errors. */
const CHANGE_ERRORS: readonly ErrorCode[] = ['SW_ERR_NOT_FOUND', 'SW_ERR_TICKET_TRANSITION', 'SW_ERR_TICKET_CONFLICT'];

interface Change {
  ticket: Ticket;
  type: TicketEventType;
  recipients?: string[];
}

/** The delivery state of one outgoing message, as the ticket view shows it. */
function deliveryView(m: OutboxItem): Record<string, unknown> {
  return {
    id: m.id,
    channel: m.channel,
    to: m.subcenterId,
    event: m.event,
    state: m.state,
    attempts: m.attempts,
    lastError: m.lastError,
    createdAt: m.createdAt,
    ...(m.state === 'delivered' ? { deliveredAt: m.nextAttemptAt } : m.state === 'pending' ? { nextAttemptAt: m.nextAttemptAt } : {}),
  };
}

async function visible(req: FastifyRequest, id: string, { state }: RouteContext): Promise<{ ticket: Ticket; role: TicketRole }> {
  const ticket = await state.tickets.get(id);
  const role = ticket && (await ticketRole(req.principal, ticket, state.supervision));
  if (!ticket || !role) throw swError('SW_ERR_NOT_FOUND', `ticket ${id}`);
  return { ticket, role };
}

/** Applies a change from a fresh read, again if another writer got there first. */
function act(req: FastifyRequest, ctx: RouteContext, id: string, roles: readonly TicketRole[], what: string, change: (t: Ticket, now: number) => Change): Promise<Ticket> {
  const commit: CommitContext = { tickets: ctx.state.tickets, bus: ctx.bus, cityIndex: ctx.cityIndex, metrics: ctx.metrics };
  return withConflictRetry(async () => {
    const { ticket, role } = await visible(req, id, ctx);
    if (!roles.includes(role)) throw swError('SW_ERR_FORBIDDEN', `${what} ticket ${id}: only its holder can`);
    const now = ctx.clock.now();
    const c = change(ticket, now);
    await commitTicket(commit, c.ticket, c.type, now, c.recipients ? { recipients: c.recipients } : {});
    return c.ticket;
  });
}

/**
 * Tickets. A unit sees and acts on the tickets it holds; a center holding a supervision order
 * about a ticket also sees it and may reassign it; everyone else gets 404, as if it did not
 * exist. The admin sees and does everything.
 */
export const ticketRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/tickets',
    operationId: 'listTickets',
    summary: 'List tickets, newest first',
    tag: 'tickets',
    access: 'wall',
    query: TicketQuery,
    responses: { 200: { description: 'Tickets', schema: TicketList } },
    handler: async ({ query: q }, req, _reply, { state }) => {
      const unit = unitOf(req);
      if (unit !== undefined && q.subcenter !== undefined && q.subcenter !== unit) throw swError('SW_ERR_FORBIDDEN', `list the tickets of ${q.subcenter}`);
      const filter: Parameters<typeof state.tickets.list>[0] = { limit: q.limit };
      const subcenter = unit ?? q.subcenter;
      if (subcenter !== undefined) filter.subcenterId = subcenter;
      if (q.status !== undefined) filter.status = q.status;
      return { tickets: await state.tickets.list(filter) };
    },
  }),
  route({
    method: 'GET',
    url: '/api/tickets/:id',
    operationId: 'getTicket',
    summary: 'One ticket with its timeline, supervision orders and delivery state',
    tag: 'tickets',
    access: 'units',
    params: IdParams,
    responses: { 200: { description: 'The ticket', schema: TicketDetail } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params }, req, _reply, ctx) => {
      const { state } = ctx;
      const { ticket } = await visible(req, params.id, ctx);
      const unit = unitOf(req);
      const [deliveries, orders] = await Promise.all([state.outbox.forTicket(ticket.id), Promise.all(ticket.supervisionOrderIds.map((id) => state.supervision.get(id)))]);
      return {
        ...ticket,
        supervisionOrders: orders.filter((o) => o !== undefined),
        delivery: deliveries.filter((m) => unit === undefined || m.subcenterId === unit).map(deliveryView),
      };
    },
  }),
  ...STATUS_ACTIONS.map(([action, to, summary]) =>
    route({
      method: 'POST',
      url: `/api/tickets/:id/${action}`,
      operationId: `${action}Ticket`,
      summary,
      description: 'By the holder or the admin, with an optional note for the timeline.',
      tag: 'tickets',
      access: 'units',
      params: IdParams,
      body: TicketActionBody,
      responses: { 200: { description: 'The ticket as changed', schema: Ticket } },
      errors: CHANGE_ERRORS,
      handler: async ({ params: { id }, body: { note } }, req, _reply, ctx) =>
        act(req, ctx, id, ['admin', 'holder'], action, (t, now) => ({ ticket: transition(t, to, actorOf(req), now, note), type: to === 'closed' ? 'ticket.closed' : 'ticket.updated' })),
    }),
  ),
  route({
    method: 'POST',
    url: '/api/tickets/:id/feedback',
    operationId: 'addTicketFeedback',
    summary: 'Add feedback to a ticket (反馈), no status change',
    tag: 'tickets',
    access: 'units',
    params: IdParams,
    body: TicketFeedbackBody,
    responses: { 200: { description: 'The ticket as changed', schema: Ticket } },
    errors: CHANGE_ERRORS,
    handler: async ({ params: { id }, body: { note } }, req, _reply, ctx) =>
      act(req, ctx, id, ['admin', 'holder'], 'add feedback to', (t, now) => ({ ticket: addFeedback(t, actorOf(req), now, note), type: 'ticket.updated' })),
  }),
  route({
    method: 'POST',
    url: '/api/tickets/:id/reassign',
    operationId: 'reassignTicket',
    summary: 'Reassign a ticket to another unit or department (改派)',
    description: 'By the holder, the supervising center or the admin; always with a reason.',
    tag: 'tickets',
    access: 'units',
    params: IdParams,
    body: TicketReassignBody,
    responses: { 200: { description: 'The ticket as changed', schema: Ticket } },
    errors: [...CHANGE_ERRORS, 'SW_ERR_UNIT_UNKNOWN'],
    handler: async ({ params: { id }, body }, req, _reply, ctx) => {
      const index = ctx.cityIndex();
      if (body.subcenter !== undefined && !unitById(index, body.subcenter)) throw swError('SW_ERR_UNIT_UNKNOWN', body.subcenter);
      if (body.department !== undefined && index.city.departments.size > 0 && !index.city.departments.has(body.department)) {
        throw swError('SW_ERR_BODY_INVALID', `body.department: unknown department "${body.department}"`);
      }
      return act(req, ctx, id, ['admin', 'holder', 'supervisor'], 'reassign', (t, now) => {
        const next = reassign(t, { subcenterId: body.subcenter, department: body.department, reason: body.reason }, actorOf(req), now, { sla: index.city.sla, fallbackId: index.city.district.id });
        return { ticket: next, type: 'ticket.reassigned', recipients: [t.subcenterId] };
      });
    },
  }),
];
