import { swError } from '../../core/errors.js';
import { coHandlerFeedback, moveCoHandler, summonByHand, tickChecklist, type CoHandlerMove } from '../../core/tickets/joint.js';
import { ChecklistParams, CoHandlerParams, ReleaseBody, SummonBody, Ticket, TicketActionBody, TicketFeedbackBody } from '../../core/schemas.js';
import { IdParams, actorOf } from '../context.js';
import { route, type Route } from '../route-table.js';
import { HOLDER_SIDE, actOnTicket, assertCoHandler } from '../ticket-access.js';
import { CHANGE_ERRORS } from './tickets.js';

const changed = { 200: { description: 'The ticket as changed', schema: Ticket } };

/** A co-handler's own move: the department itself (or the admin), after the ticket is found visible. */
function coHandlerMove(path: string, to: Exclude<CoHandlerMove, 'released'>, summary: string): Route {
  return route({
    method: 'POST',
    url: `/api/tickets/:id/co-handlers/:department/${path}`,
    operationId: `${to === 'checked_in' ? 'checkIn' : 'finish'}CoHandler`,
    summary,
    description: 'By the summoned department with its own token (or the admin), with an optional note for the timeline.',
    tag: 'joint',
    access: 'units',
    departments: true,
    params: CoHandlerParams,
    body: TicketActionBody,
    responses: changed,
    errors: [...CHANGE_ERRORS, 'SW_ERR_JOINT_TRANSITION'],
    handler: async ({ params: { id, department }, body: { note } }, req, _reply, ctx) =>
      actOnTicket(req, ctx, id, ['admin', 'co-handler'], `${path} as co-handler of`, (t, now) => {
        assertCoHandler(req, department, id);
        return { ticket: moveCoHandler(t, department, to, actorOf(req), now, note), type: 'ticket.updated' };
      }),
  });
}

/**
 * Joint handling (吹哨报到, 联动). The holder (its unit or its lead department) blows the whistle
 * for a department and releases one not needed; each summoned department checks in (报到),
 * gives feedback and finishes with its own token; anyone working on the ticket ticks off the
 * plan's checklist. The holder's resolution waits until every co-handler has finished.
 */
export const jointRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/tickets/:id/co-handlers',
    operationId: 'summonCoHandler',
    summary: 'Summon a department to co-handle (吹哨)',
    description: 'By the holder (its unit or its lead department) or the admin: the department must check in within `checkInWithin` (the grade\'s response time when absent), and the ticket resolves only once it has finished or been released.',
    tag: 'joint',
    access: 'units',
    departments: true,
    params: IdParams,
    body: SummonBody,
    responses: changed,
    errors: [...CHANGE_ERRORS, 'SW_ERR_JOINT_TRANSITION', 'SW_ERR_DEPARTMENT_UNKNOWN'],
    handler: async ({ params: { id }, body }, req, _reply, ctx) => {
      const index = ctx.cityIndex();
      if (!index.city.departments.has(body.department)) throw swError('SW_ERR_DEPARTMENT_UNKNOWN', body.department);
      return actOnTicket(req, ctx, id, HOLDER_SIDE, 'summon a co-handler to', (t, now) => {
        const within = body.checkInWithin ?? index.city.sla.grades[t.grade].respondWithin;
        return { ticket: summonByHand(t, body.department, actorOf(req), now, within, body.reason), type: 'ticket.summoned' };
      });
    },
  }),
  coHandlerMove('check-in', 'checked_in', 'Check in as a summoned department (报到)'),
  coHandlerMove('finish', 'finished', "Finish a co-handling department's part"),
  route({
    method: 'POST',
    url: '/api/tickets/:id/co-handlers/:department/feedback',
    operationId: 'addCoHandlerFeedback',
    summary: "A co-handling department's feedback (反馈)",
    description: 'By the department, after it checked in and before it finished.',
    tag: 'joint',
    access: 'units',
    departments: true,
    params: CoHandlerParams,
    body: TicketFeedbackBody,
    responses: changed,
    errors: [...CHANGE_ERRORS, 'SW_ERR_JOINT_TRANSITION'],
    handler: async ({ params: { id, department }, body: { note } }, req, _reply, ctx) =>
      actOnTicket(req, ctx, id, ['admin', 'co-handler'], 'give feedback as co-handler of', (t, now) => {
        assertCoHandler(req, department, id);
        return { ticket: coHandlerFeedback(t, department, actorOf(req), now, note), type: 'ticket.updated' };
      }),
  }),
  route({
    method: 'POST',
    url: '/api/tickets/:id/co-handlers/:department/release',
    operationId: 'releaseCoHandler',
    summary: 'Release a summoned department that is not needed',
    description: 'By the holder (its unit or its lead department) or the admin, with a reason; the department no longer sees the ticket.',
    tag: 'joint',
    access: 'units',
    departments: true,
    params: CoHandlerParams,
    body: ReleaseBody,
    responses: changed,
    errors: [...CHANGE_ERRORS, 'SW_ERR_JOINT_TRANSITION'],
    handler: async ({ params: { id, department }, body: { reason } }, req, _reply, ctx) =>
      actOnTicket(req, ctx, id, HOLDER_SIDE, `release ${department} from`, (t, now) => ({ ticket: moveCoHandler(t, department, 'released', actorOf(req), now, reason), type: 'ticket.updated' })),
  }),
  route({
    method: 'POST',
    url: '/api/tickets/:id/checklist/:step',
    operationId: 'tickChecklistStep',
    summary: "Tick a step of the response plan's checklist off",
    description: 'By the holder, its lead department, a co-handling department or the admin; the timeline records who and when.',
    tag: 'joint',
    access: 'units',
    departments: true,
    params: ChecklistParams,
    body: TicketActionBody,
    responses: changed,
    errors: [...CHANGE_ERRORS, 'SW_ERR_JOINT_TRANSITION'],
    handler: async ({ params: { id, step }, body: { note } }, req, _reply, ctx) =>
      actOnTicket(req, ctx, id, [...HOLDER_SIDE, 'co-handler'], 'tick the checklist of', (t, now) => ({ ticket: tickChecklist(t, step, actorOf(req), now, note), type: 'ticket.updated' })),
  }),
];
