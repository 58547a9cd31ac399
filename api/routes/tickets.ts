import { addFeedback, reassign, transition } from '../../core/tickets/lifecycle.js';
import { closeByDistrict } from '../../core/tickets/reports.js';
import { unitById, unitsUnder } from '../../core/tickets/units.js';
import { TicketDetail, TicketList } from '../../core/api-schemas.js';
import { swError, type ErrorCode } from '../../core/errors.js';
import type { OutboxItem } from '../../core/ports.js';
import { Ticket, TicketActionBody, TicketFeedbackBody, TicketQuery, TicketReassignBody, type TicketStatus } from '../../core/schemas.js';
import { IdParams, actorOf, departmentOf, unitOf } from '../context.js';
import { route, type Route } from '../route-table.js';
import { HOLDER_SIDE, actOnTicket, visibleTicket, type TicketChange } from '../ticket-access.js';

/** Status actions: the route suffix, the status it moves the ticket to, and its name in the interface. */
const STATUS_ACTIONS: readonly [string, TicketStatus, string][] = [
  ['ack', 'acknowledged', 'Acknowledge a ticket (签收)'],
  ['start', 'in_progress', 'Start handling a ticket (处置)'],
  ['resolve', 'resolved', 'Report a ticket handled (办结)'],
  ['close', 'closed', "Close a ticket on the operator's confirmation (结案)"],
];

/** What a ticket change may be refused with, beyond the common errors. */
export const CHANGE_ERRORS: readonly ErrorCode[] = ['SW_ERR_NOT_FOUND', 'SW_ERR_TICKET_TRANSITION', 'SW_ERR_TICKET_CONFLICT'];

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
 * Tickets. A unit sees and acts on the tickets it holds, and sees those of the communities and
 * grids below it; a center holding a supervision order about a ticket also sees it and may
 * reassign it; a department sees the tickets it leads (and acts on them with the holder) or
 * co-handles; everyone else gets 404, as if the ticket did not exist. The admin sees and does
 * everything. A reported ticket is closed by its reporter's confirmation (routes/reports.ts)
 * or, once the reporter's time ran out, by the district; the admin may close it at any time.
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
    departments: true,
    handler: async ({ query: q }, req, _reply, { state, cityIndex }) => {
      const unit = unitOf(req);
      const department = departmentOf(req);
      const filter: Parameters<typeof state.tickets.list>[0] = { limit: q.limit };
      if (unit !== undefined) {
        // A unit's list holds the tickets of the communities and grids below it too.
        const mine = unitsUnder(cityIndex(), unit);
        if (q.subcenter !== undefined && !mine.includes(q.subcenter)) throw swError('SW_ERR_FORBIDDEN', `list the tickets of ${q.subcenter}`);
        filter.subcenterId = q.subcenter ?? mine;
      } else if (q.subcenter !== undefined) {
        filter.subcenterId = q.subcenter;
      }
      if (department !== undefined && q.department !== undefined && q.department !== department) throw swError('SW_ERR_FORBIDDEN', `list the tickets of ${q.department}`);
      const dept = department ?? q.department;
      if (dept !== undefined) filter.department = dept;
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
    departments: true,
    handler: async ({ params }, req, _reply, ctx) => {
      const { state } = ctx;
      const { ticket } = await visibleTicket(req, params.id, ctx);
      const who = unitOf(req) ?? departmentOf(req);
      const [deliveries, orders] = await Promise.all([state.outbox.forTicket(ticket.id), Promise.all(ticket.supervisionOrderIds.map((id) => state.supervision.get(id)))]);
      return {
        ...ticket,
        supervisionOrders: orders.filter((o) => o !== undefined),
        delivery: deliveries.filter((m) => who === undefined || m.subcenterId === who).map(deliveryView),
      };
    },
  }),
  ...STATUS_ACTIONS.map(([action, to, summary]) =>
    route({
      method: 'POST',
      url: `/api/tickets/:id/${action}`,
      operationId: `${action}Ticket`,
      summary,
      description:
        to === 'closed'
          ? 'By the holder (its unit or its lead department) or the admin, with an optional note. A reported ticket is closed by its reporter; the district closes it once the reporter\'s time has run out.'
          : to === 'resolved'
            ? 'By the holder (its unit or its lead department) or the admin, with an optional note; refused while a co-handling department has not finished (SW_ERR_JOINT_PENDING).'
            : 'By the holder (its unit or its lead department) or the admin, with an optional note for the timeline.',
      tag: 'tickets',
      access: 'units',
      departments: true,
      params: IdParams,
      body: TicketActionBody,
      responses: { 200: { description: 'The ticket as changed', schema: Ticket } },
      errors: [...CHANGE_ERRORS, ...(to === 'resolved' ? (['SW_ERR_JOINT_PENDING'] as const) : to === 'closed' ? (['SW_ERR_CONFIRMATION_REFUSED'] as const) : [])],
      handler: async ({ params: { id }, body: { note } }, req, _reply, ctx) =>
        actOnTicket(req, ctx, id, to === 'closed' ? [...HOLDER_SIDE, 'district'] : HOLDER_SIDE, action, (t, now, role): TicketChange => {
          if (to === 'closed' && t.origin === 'report' && role !== 'admin') {
            // 上报人确认结案: the reporter confirms; the district decides once the reporter's time ran out.
            if (role !== 'district') throw swError('SW_ERR_FORBIDDEN', `close reported ticket ${t.id}: its reporter confirms the closing, or the district once the reporter's time has run out`);
            return { ticket: closeByDistrict(t, actorOf(req), now, note), type: 'ticket.closed' };
          }
          if (role === 'district') throw swError('SW_ERR_FORBIDDEN', `${action} ticket ${t.id}: only its holder can`);
          return { ticket: transition(t, to, actorOf(req), now, note), type: to === 'closed' ? 'ticket.closed' : 'ticket.updated' };
        }),
    }),
  ),
  route({
    method: 'POST',
    url: '/api/tickets/:id/feedback',
    operationId: 'addTicketFeedback',
    summary: 'Add feedback to a ticket (反馈), no status change',
    tag: 'tickets',
    access: 'units',
    departments: true,
    params: IdParams,
    body: TicketFeedbackBody,
    responses: { 200: { description: 'The ticket as changed', schema: Ticket } },
    errors: CHANGE_ERRORS,
    handler: async ({ params: { id }, body: { note } }, req, _reply, ctx) =>
      actOnTicket(req, ctx, id, HOLDER_SIDE, 'add feedback to', (t, now) => ({ ticket: addFeedback(t, actorOf(req), now, note), type: 'ticket.updated' })),
  }),
  route({
    method: 'POST',
    url: '/api/tickets/:id/reassign',
    operationId: 'reassignTicket',
    summary: 'Reassign a ticket to another unit or department (改派)',
    description: 'By the holder, the supervising center (a center with a supervision order about it, the sub-center above a community or grid) or the admin; always with a reason.',
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
      return actOnTicket(req, ctx, id, ['admin', 'holder', 'supervisor'], 'reassign', (t, now) => {
        const next = reassign(t, { subcenterId: body.subcenter, department: body.department, reason: body.reason }, actorOf(req), now, { sla: index.city.sla, fallbackId: index.city.district.id });
        return { ticket: next, type: 'ticket.reassigned', recipients: [t.subcenterId] };
      });
    },
  }),
];
