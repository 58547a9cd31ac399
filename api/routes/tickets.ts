import { z } from 'zod';
import { swError } from '../../core/errors.js';
import { TicketActionBody, TicketStatus, type Ticket } from '../../core/schemas.js';
import { transition } from '../../alerting/lifecycle.js';
import { commitTicket } from '../../alerting/ticket-commit.js';
import { IdParams, actorOf, parse, type RouteModule } from '../context.js';

const TicketQuery = z.strictObject({
  subcenter: z.string().max(64).optional(),
  status: z
    .string()
    .max(200)
    .transform((s) => s.split(','))
    .pipe(z.array(TicketStatus))
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const ticketRoutes: RouteModule = (api, ctx) => {
  const { state, clock } = ctx;

  async function loadTicket(id: string): Promise<Ticket> {
    const ticket = await state.tickets.get(id);
    if (!ticket) throw swError('SW_ERR_NOT_FOUND', `ticket ${id}`);
    return ticket;
  }

  api.get('/api/tickets', async (req) => {
    const q = parse(TicketQuery, req.query, 'query');
    const filter: Parameters<typeof state.tickets.list>[0] = { limit: q.limit };
    if (q.subcenter !== undefined) filter.subcenterId = q.subcenter;
    if (q.status !== undefined) filter.status = q.status;
    return { tickets: await state.tickets.list(filter) };
  });

  api.get('/api/tickets/:id', async (req) => loadTicket(parse(IdParams, req.params, 'params').id));

  api.post('/api/tickets/:id/ack', async (req) => {
    const { id } = parse(IdParams, req.params, 'params');
    const { note } = parse(TicketActionBody, req.body, 'body');
    const ticket = await loadTicket(id);
    const now = clock.now();
    const updated = transition(ticket, 'acknowledged', actorOf(req), now, note);
    await commitTicket({ tickets: state.tickets, bus: ctx.bus, cityIndex: ctx.cityIndex, metrics: ctx.metrics }, updated, 'ticket.updated', now);
    return updated;
  });
};
