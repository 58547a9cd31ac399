import { StreamQuery } from '../../core/schemas.js';
import type { TicketStreamHub } from '../stream-hub.js';
import { parse, unitOf, type RouteModule } from '../context.js';

/**
 * `GET /api/stream`: ticket events as server-sent events, named by type (`ticket.created`,
 * `ticket.overdue`...), JSON data. The token may also come as `?access_token=`, since a
 * browser's EventSource cannot send headers.
 */
export const streamRoutes =
  (hub: TicketStreamHub): RouteModule =>
  (api) => {
    api.get('/api/stream', { config: { allowUnits: true, tokenInQuery: true } }, async (req, reply) => {
      parse(StreamQuery, req.query, 'query');
      reply.hijack();
      hub.open(reply.raw, unitOf(req));
    });
  };
