import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CityIndex } from '../../core/city-index.js';
import { StreetWatchError, swError } from '../../core/errors.js';
import type { TicketFilter } from '../../core/ports.js';
import { Open311KeyQuery, Open311RequestsQuery, type Ticket } from '../../core/schemas.js';
import { bearerToken } from '../auth.js';
import type { ApiContext, ApiPrincipal } from '../context.js';
import type { TokenLogin } from '../server.js';
import { parse } from '../context.js';
import { OPEN311_CONTENT_TYPE, open311Body, open311Request, open311Services, type Open311Format } from '../open311.js';
import { ticketRole } from '../ticket-access.js';

export const OPEN311_PREFIX = '/open311/v2';
/** The spec's default and largest window for `GET requests`. */
export const OPEN311_WINDOW_MS = 90 * 86_400_000;
/** The spec's default result cap. */
export const OPEN311_MAX_REQUESTS = 1000;

const Resource = z.strictObject({ file: z.string().max(160).regex(/^[^/]+\.(json|xml)$/, 'must end in .json or .xml') });

function split(file: string): { name: string; format: Open311Format } {
  const dot = file.lastIndexOf('.');
  return { name: file.slice(0, dot), format: file.slice(dot + 1) as Open311Format };
}

/** The format the client asked for, for answers (errors included); XML is the spec's required one. */
function formatOf(req: FastifyRequest): Open311Format {
  return req.url.split('?')[0]!.endsWith('.json') ? 'json' : 'xml';
}

/** The spec: "Optional" parameters passed empty count as not passed. */
function withoutEmpty(query: unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries((query ?? {}) as Record<string, unknown>).filter(([, v]) => v !== ''));
}

/**
 * Open311 GeoReport v2, read-only, so existing 311 tools can follow the tickets: services and
 * requests (list and by id) in JSON and XML. `api_key` is a unit token (the admin token also
 * works): a unit reads its own tickets only.
 */
export function registerOpen311(app: FastifyInstance, ctx: ApiContext, login: TokenLogin): void {
  app.register(
    async (o311) => {
      o311.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
        const sw = err instanceof StreetWatchError ? err : new StreetWatchError(err.statusCode !== undefined && err.statusCode < 500 ? 'SW_ERR_BODY_INVALID' : 'SW_ERR_INTERNAL', [err.message], { cause: err });
        // The spec: 403 for a missing or wrong api_key, 404 for what does not exist, 400 otherwise;
        // too many failed keys is HTTP's 429, which a client can act on.
        const status = sw.code === 'SW_ERR_UNAUTHORIZED' ? 403 : sw.status === 404 || sw.status === 429 ? sw.status : sw.status >= 500 ? sw.status : 400;
        const retryAfter = (sw.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
        if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
        if (status >= 500) req.log.error({ err }, 'open311 request failed');
        ctx.metrics.apiErrors.inc({ code: sw.code, status });
        void send(reply, formatOf(req), status, 'errors', 'error', [{ code: status, description: `${sw.code}: ${sw.message}` }]);
      });
      o311.setNotFoundHandler((req, reply) => {
        void send(reply, formatOf(req), 404, 'errors', 'error', [{ code: 404, description: `SW_ERR_NOT_FOUND: ${req.url.split('?')[0]} is not a GeoReport v2 resource here` }]);
      });

      async function principal(req: FastifyRequest, apiKey: string | undefined): Promise<ApiPrincipal> {
        const p = await login(apiKey ?? bearerToken(req.headers.authorization), req.ip);
        if (!p) throw swError('SW_ERR_UNAUTHORIZED');
        return p;
      }

      function checkJurisdiction(index: CityIndex, id: string | undefined): void {
        if (id !== undefined && id !== index.city.district.id) throw swError('SW_ERR_NOT_FOUND', `jurisdiction_id ${id}`);
      }

      o311.get('/:file', async (req, reply) => {
        const { name, format } = split(parse(Resource, req.params, 'path').file);
        const index = ctx.cityIndex();
        if (name === 'services') {
          const q = parse(Open311KeyQuery, withoutEmpty(req.query), 'query');
          await principal(req, q.api_key);
          checkJurisdiction(index, q.jurisdiction_id);
          return send(reply, format, 200, 'services', 'service', open311Services(index));
        }
        if (name !== 'requests') throw swError('SW_ERR_NOT_FOUND', `resource ${name}`);
        const q = parse(Open311RequestsQuery, withoutEmpty(req.query), 'query');
        const who = await principal(req, q.api_key);
        checkJurisdiction(index, q.jurisdiction_id);
        const unit = who.role === 'unit' ? who.unitId : undefined;
        let tickets: Ticket[];
        if (q.service_request_id !== undefined) {
          // The spec: service_request_id overrides every other argument.
          const found = await Promise.all(q.service_request_id.map((id) => ctx.state.tickets.get(id)));
          tickets = [];
          for (const t of found) if (t && (await ticketRole(who, t, ctx.state.supervision))) tickets.push(t);
        } else {
          const end = q.end_date ?? ctx.clock.now();
          const start = q.start_date ?? end - OPEN311_WINDOW_MS;
          if (start > end) throw swError('SW_ERR_BODY_INVALID', 'start_date is after end_date');
          if (end - start > OPEN311_WINDOW_MS) throw swError('SW_ERR_BODY_INVALID', 'start_date to end_date may not span more than 90 days');
          const filter: TicketFilter = { createdFrom: start, createdTo: end + 1, limit: OPEN311_MAX_REQUESTS };
          if (unit !== undefined) filter.subcenterId = unit;
          if (q.status?.length === 1) filter.status = q.status[0] === 'closed' ? 'closed' : ['dispatched', 'acknowledged', 'in_progress', 'resolved', 'reopened'];
          tickets = await ctx.state.tickets.list(filter);
          if (q.service_code !== undefined && q.service_code.length > 0) tickets = tickets.filter((t) => q.service_code!.includes(t.category));
        }
        return send(reply, format, 200, 'service_requests', 'request', tickets.map((t) => open311Request(t, index)));
      });

      o311.get('/requests/:file', async (req, reply) => {
        const { name: id, format } = split(parse(Resource, req.params, 'path').file);
        const q = parse(Open311KeyQuery, withoutEmpty(req.query), 'query');
        const who = await principal(req, q.api_key);
        const index = ctx.cityIndex();
        checkJurisdiction(index, q.jurisdiction_id);
        const ticket = await ctx.state.tickets.get(id);
        if (!ticket || !(await ticketRole(who, ticket, ctx.state.supervision))) throw swError('SW_ERR_NOT_FOUND', `service request ${id}`);
        return send(reply, format, 200, 'service_requests', 'request', [open311Request(ticket, index)]);
      });
    },
    { prefix: OPEN311_PREFIX },
  );
}

function send(reply: FastifyReply, format: Open311Format, status: number, root: string, item: string, list: readonly object[]): FastifyReply {
  return reply.status(status).header('content-type', OPEN311_CONTENT_TYPE[format]).send(open311Body(format, root, item, list));
}
