import { decideExtension, requestExtension } from '../../core/tickets/extensions.js';
import { unitById } from '../../core/tickets/units.js';
import { ExtensionBody, ExtensionDecisionBody, Ticket } from '../../core/schemas.js';
import { IdParams, actorOf } from '../context.js';
import { route, type Route } from '../route-table.js';
import { HOLDER_SIDE, actOnTicket } from '../ticket-access.js';
import { CHANGE_ERRORS } from './tickets.js';

/**
 * Deadline extensions (延期). The holder (its unit or its lead department) asks for a later
 * resolution deadline; the holder's parent center decides (the admin for the district's own
 * tickets, or in any case).
 */
export const extensionRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/tickets/:id/extension',
    operationId: 'requestExtension',
    summary: 'Ask for a later resolution deadline (延期)',
    description:
      "By the holder (its unit or its lead department) or the admin, before the deadline in force, with a reason. The holder's parent center decides (`approver`; the admin when the district holds the ticket). One request waits at a time; `governance.extensions` in sla.yaml bounds how many and how far.",
    tag: 'extensions',
    access: 'units',
    departments: true,
    params: IdParams,
    body: ExtensionBody,
    responses: { 200: { description: 'The ticket with the request waiting', schema: Ticket } },
    errors: [...CHANGE_ERRORS, 'SW_ERR_EXTENSION_REFUSED'],
    handler: async ({ params: { id }, body }, req, _reply, ctx) => {
      const index = ctx.cityIndex();
      return actOnTicket(req, ctx, id, HOLDER_SIDE, 'ask for more time on', (t, now) => {
        const holder = unitById(index, t.subcenterId);
        const approver = !holder || holder.parent === holder.id ? 'admin' : holder.parent;
        const next = requestExtension(t, { to: body.resolveBy, reason: body.reason, approver }, actorOf(req), now, index.city.sla.governance.extensions);
        return { ticket: next, type: 'ticket.extension_requested', recipients: approver === 'admin' ? [] : [approver] };
      });
    },
  }),
  route({
    method: 'POST',
    url: '/api/tickets/:id/extension/decision',
    operationId: 'decideExtension',
    summary: 'Approve or refuse a request for more time',
    description: 'By the center the request is addressed to, or the admin, before the deadline it would extend. An approval moves `resolveBy` (at most to the one asked for): timers, reminders and the handling KPI follow the deadline in force.',
    tag: 'extensions',
    access: 'units',
    params: IdParams,
    body: ExtensionDecisionBody,
    responses: { 200: { description: 'The ticket as decided', schema: Ticket } },
    errors: [...CHANGE_ERRORS, 'SW_ERR_EXTENSION_REFUSED'],
    handler: async ({ params: { id }, body }, req, _reply, ctx) =>
      actOnTicket(req, ctx, id, ['admin', 'approver'], 'decide on the extension of', (t, now) => {
        const next = decideExtension(t, { approved: body.approved, resolveBy: body.resolveBy, note: body.note }, actorOf(req), now);
        const approver = t.extensions?.at(-1)?.approver;
        return { ticket: next, type: 'ticket.updated', recipients: approver && approver !== 'admin' ? [approver] : [] };
      }),
  }),
];
