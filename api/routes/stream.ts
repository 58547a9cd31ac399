import { TextBody } from '../../core/api-schemas.js';
import { StreamQuery } from '../../core/schemas.js';
import { departmentOf, unitOf } from '../context.js';
import { route, type Route } from '../route-table.js';

/**
 * `GET /api/stream`: ticket events as server-sent events, named by type (`ticket.created`,
 * `ticket.overdue`...), JSON data. The token may also come as `?access_token=`, since a
 * browser's EventSource cannot send headers. A stream ends when its token is revoked.
 */
export const streamRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/stream',
    operationId: 'streamTicketEvents',
    summary: 'Ticket events as server-sent events',
    description: 'Events named by type (`ticket.created`, `ticket.overdue`...) with the event as JSON data; the stream stays open. The token may come as `?access_token=` (EventSource cannot set headers).',
    tag: 'tickets',
    access: 'wall',
    departments: true,
    tokenInQuery: true,
    query: StreamQuery,
    responses: { 200: { description: 'An endless event stream', schema: TextBody, contentType: 'text/event-stream' } },
    handler: async (_input, req, reply, { hub }) => {
      reply.hijack();
      const p = req.principal;
      // A department is a recipient like a unit (ids share one namespace, core/city.ts); its token ends its stream as a unit's does.
      const viewer = unitOf(req) ?? departmentOf(req);
      const token = p?.role === 'department' ? { id: p.tokenId, unitId: p.department } : p && p.role !== 'admin' && p.role !== 'reporter' ? { id: p.tokenId, unitId: p.unitId } : undefined;
      hub.open(reply.raw, { unitId: viewer, token });
    },
  }),
];
