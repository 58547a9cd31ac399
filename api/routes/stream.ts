import { TextBody } from '../../core/api-schemas.js';
import { StreamQuery } from '../../core/schemas.js';
import { unitOf } from '../context.js';
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
    tokenInQuery: true,
    query: StreamQuery,
    responses: { 200: { description: 'An endless event stream', schema: TextBody, contentType: 'text/event-stream' } },
    handler: async (_input, req, reply, { hub }) => {
      reply.hijack();
      const p = req.principal;
      hub.open(reply.raw, { unitId: unitOf(req), token: p && p.role !== 'admin' ? { id: p.tokenId, unitId: p.unitId } : undefined });
    },
  }),
];
