import type { FastifyRequest } from 'fastify';
import { addFeedback, reassign, transition } from '../../core/tickets/lifecycle.js';
import { commitTicket, withConflictRetry, type CommitContext } from '../../core/tickets/commit.js';
import { unitById } from '../../core/tickets/units.js';
import { swError } from '../../core/errors.js';
import type { OutboxItem } from '../../core/ports.js';
import { TicketActionBody, TicketFeedbackBody, TicketQuery, TicketReassignBody, type Ticket, type TicketEventType, type TicketStatus } from '../../core/schemas.js';
import { IdParams, UNITS_ALLOWED, actorOf, parse, unitOf, type ApiContext, type RouteModule } from '../context.js';
import { ticketRole, type TicketRole } from '../ticket-access.js';

/** Status actions: the route suffix and the status it moves the ticket to. */
const STATUS_ACTIONS: readonly [string, TicketStatus][] = [
  ['ack', 'acknowledged'],
  ['start', 'in_progress'],
  ['resolve', 'resolved'],
  ['close', 'closed'],
];

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

/**
 * Tickets. A unit sees and acts on the tickets it holds; a center holding a supervision order
 * about a ticket also sees it and may reassign it; everyone else gets 404, as if it did not
 * exist. The admin sees and does everything.
 */
export const ticketRoutes: RouteModule = (api, ctx: ApiContext) => {
  const { state, clock } = ctx;
  const commit: CommitContext = { tickets: state.tickets, bus: ctx.bus, cityIndex: ctx.cityIndex, metrics: ctx.metrics };

  async function visible(req: FastifyRequest, id: string): Promise<{ ticket: Ticket; role: TicketRole }> {
    const ticket = await state.tickets.get(id);
    const role = ticket && (await ticketRole(req.principal, ticket, state.supervision));
    if (!ticket || !role) throw swError('SW_ERR_NOT_FOUND', `ticket ${id}`);
    return { ticket, role };
  }

  /** Applies a change from a fresh read, again if another writer got there first. */
  function act(req: FastifyRequest, id: string, roles: readonly TicketRole[], what: string, change: (t: Ticket, now: number) => Change): Promise<Ticket> {
    return withConflictRetry(async () => {
      const { ticket, role } = await visible(req, id);
      if (!roles.includes(role)) throw swError('SW_ERR_FORBIDDEN', `${what} ticket ${id}: only its holder can`);
      const now = clock.now();
      const c = change(ticket, now);
      await commitTicket(commit, c.ticket, c.type, now, c.recipients ? { recipients: c.recipients } : {});
      return c.ticket;
    });
  }

  api.get('/api/tickets', UNITS_ALLOWED, async (req) => {
    const q = parse(TicketQuery, req.query, 'query');
    const unit = unitOf(req);
    if (unit !== undefined && q.subcenter !== undefined && q.subcenter !== unit) throw swError('SW_ERR_FORBIDDEN', `list the tickets of ${q.subcenter}`);
    const filter: Parameters<typeof state.tickets.list>[0] = { limit: q.limit };
    const subcenter = unit ?? q.subcenter;
    if (subcenter !== undefined) filter.subcenterId = subcenter;
    if (q.status !== undefined) filter.status = q.status;
    return { tickets: await state.tickets.list(filter) };
  });

  api.get('/api/tickets/:id', UNITS_ALLOWED, async (req) => {
    const { ticket } = await visible(req, parse(IdParams, req.params, 'params').id);
    const unit = unitOf(req);
    const [deliveries, orders] = await Promise.all([state.outbox.forTicket(ticket.id), Promise.all(ticket.supervisionOrderIds.map((id) => state.supervision.get(id)))]);
    return {
      ...ticket,
      supervisionOrders: orders.filter((o) => o !== undefined),
      delivery: deliveries.filter((m) => unit === undefined || m.subcenterId === unit).map(deliveryView),
    };
  });

  for (const [action, to] of STATUS_ACTIONS) {
    api.post(`/api/tickets/:id/${action}`, UNITS_ALLOWED, async (req) => {
      const { id } = parse(IdParams, req.params, 'params');
      const { note } = parse(TicketActionBody, req.body, 'body');
      return act(req, id, ['admin', 'holder'], action, (t, now) => ({ ticket: transition(t, to, actorOf(req), now, note), type: to === 'closed' ? 'ticket.closed' : 'ticket.updated' }));
    });
  }

  api.post('/api/tickets/:id/feedback', UNITS_ALLOWED, async (req) => {
    const { id } = parse(IdParams, req.params, 'params');
    const { note } = parse(TicketFeedbackBody, req.body, 'body');
    return act(req, id, ['admin', 'holder'], 'add feedback to', (t, now) => ({ ticket: addFeedback(t, actorOf(req), now, note), type: 'ticket.updated' }));
  });

  api.post('/api/tickets/:id/reassign', UNITS_ALLOWED, async (req) => {
    const { id } = parse(IdParams, req.params, 'params');
    const body = parse(TicketReassignBody, req.body, 'body');
    const index = ctx.cityIndex();
    if (body.subcenter !== undefined && !unitById(index, body.subcenter)) throw swError('SW_ERR_UNIT_UNKNOWN', body.subcenter);
    if (body.department !== undefined && index.city.departments.size > 0 && !index.city.departments.has(body.department)) {
      throw swError('SW_ERR_BODY_INVALID', `body.department: unknown department "${body.department}"`);
    }
    return act(req, id, ['admin', 'holder', 'supervisor'], 'reassign', (t, now) => {
      const next = reassign(t, { subcenterId: body.subcenter, department: body.department, reason: body.reason }, actorOf(req), now, { sla: index.city.sla, fallbackId: index.city.district.id });
      return { ticket: next, type: 'ticket.reassigned', recipients: [t.subcenterId] };
    });
  });
};
