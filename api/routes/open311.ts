import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Open311Discovery, Open311Requests, Open311Services, TextBody } from '../../core/api-schemas.js';
import type { CityIndex } from '../../core/city-index.js';
import { StreetWatchError, swError } from '../../core/errors.js';
import type { TicketFilter } from '../../core/ports.js';
import { Open311KeyQuery, Open311RequestsQuery, type Ticket } from '../../core/schemas.js';
import { bearerToken } from '../auth.js';
import type { ApiPrincipal } from '../context.js';
import { open311Status } from '../openapi.js';
import { OPEN311_CONTENT_TYPE, open311Body, open311Discovery, open311DiscoveryBody, open311Request, open311Services, type Open311Format } from '../open311.js';
import { mountRoutes, route, type Route, type RouteContext } from '../route-table.js';
import { ticketRole } from '../ticket-access.js';

export const OPEN311_ROOT = '/open311';
export const OPEN311_PREFIX = `${OPEN311_ROOT}/v2`;
/** The spec's default and largest window for `GET requests`. */
export const OPEN311_WINDOW_MS = 90 * 86_400_000;
/** The spec's default result cap. */
export const OPEN311_MAX_REQUESTS = 1000;

const Format = z.enum(['json', 'xml']);
const FormatParams = z.strictObject({ format: Format });
const RequestParams = z.strictObject({ id: z.string().min(1).max(128), format: Format });

/** The format the client asked for, for answers (errors included); XML is the spec's required one. */
function formatOf(req: FastifyRequest): Open311Format {
  return req.url.split('?')[0]!.endsWith('.json') ? 'json' : 'xml';
}

/**
 * Who calls, by the credential they chose: an `api_key` (the spec's way) or a bearer token. A
 * refusal names the credential that was used, so a 311 client is not told about bearer tokens.
 */
async function principal(req: FastifyRequest, apiKey: string | undefined, { login }: RouteContext): Promise<ApiPrincipal> {
  const bearer = bearerToken(req.headers.authorization);
  const p = await login(apiKey ?? bearer, req.ip);
  // A wall screen's display token is no api_key: it reads the wall view and nothing else.
  if (!p || p.role === 'display') throw swError(apiKey === undefined && bearer !== undefined ? 'SW_ERR_UNAUTHORIZED' : 'SW_ERR_API_KEY_INVALID');
  return p;
}

function checkJurisdiction(index: CityIndex, id: string | undefined): void {
  if (id !== undefined && id !== index.city.district.id) throw swError('SW_ERR_NOT_FOUND', `jurisdiction_id ${id}`);
}

function send(reply: FastifyReply, format: Open311Format, status: number, root: string, item: string, list: readonly object[]): FastifyReply {
  return reply.status(status).header('content-type', OPEN311_CONTENT_TYPE[format]).send(open311Body(format, root, item, list));
}

const XML = { 'text/xml': TextBody };

/**
 * Open311 GeoReport v2, read-only, so existing 311 tools can follow the tickets: discovery and
 * services are public, as the spec has them; requests (list and by id) take an `api_key`, a
 * unit token (the admin token also works), and a unit reads its own tickets only. JSON and XML.
 * (Submitting requests, `POST requests.{format}`, belongs beside these.)
 */
export const open311Routes: readonly Route[] = [
  route({
    method: 'GET',
    url: `${OPEN311_ROOT}/discovery.:format`,
    operationId: 'open311Discovery',
    summary: 'GeoReport v2 service discovery',
    description: 'Where the GeoReport v2 endpoint is, its formats, and how to get an api_key.',
    tag: 'open311',
    access: 'public',
    params: FormatParams,
    responses: { 200: { description: 'The discovery document', schema: Open311Discovery, also: XML } },
    handler: async ({ params: { format } }, req, reply, { cityIndex }) => {
      const doc = open311Discovery(cityIndex(), `${req.protocol}://${req.host}${OPEN311_PREFIX}`);
      return reply.header('content-type', OPEN311_CONTENT_TYPE[format]).send(open311DiscoveryBody(format, doc));
    },
  }),
  route({
    method: 'GET',
    url: `${OPEN311_PREFIX}/services.:format`,
    operationId: 'open311Services',
    summary: 'GeoReport v2 service list: the alert categories',
    description: 'Public, as the spec has it: an api_key, if sent, is not looked at.',
    tag: 'open311',
    access: 'public',
    params: FormatParams,
    query: Open311KeyQuery,
    responses: { 200: { description: 'The services', schema: Open311Services, also: XML } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { format }, query }, _req, reply, { cityIndex }) => {
      const index = cityIndex();
      checkJurisdiction(index, query.jurisdiction_id);
      return send(reply, format, 200, 'services', 'service', open311Services(index));
    },
  }),
  route({
    method: 'GET',
    url: `${OPEN311_PREFIX}/requests.:format`,
    operationId: 'open311Requests',
    summary: 'GeoReport v2 service requests: the tickets',
    description: 'The last 90 days by default, at most 1,000; `service_request_id` overrides every other argument.',
    tag: 'open311',
    access: 'api_key',
    params: FormatParams,
    query: Open311RequestsQuery,
    responses: { 200: { description: 'The requests', schema: Open311Requests, also: XML } },
    errors: ['SW_ERR_API_KEY_INVALID', 'SW_ERR_NOT_FOUND'],
    handler: async ({ params: { format }, query: q }, req, reply, ctx) => {
      const who = await principal(req, q.api_key, ctx);
      const index = ctx.cityIndex();
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
    },
  }),
  route({
    method: 'GET',
    url: `${OPEN311_PREFIX}/requests/:id.:format`,
    operationId: 'open311Request',
    summary: 'One GeoReport v2 service request',
    tag: 'open311',
    access: 'api_key',
    params: RequestParams,
    query: Open311KeyQuery,
    responses: { 200: { description: 'A list of one request, as the spec has it', schema: Open311Requests, also: XML } },
    errors: ['SW_ERR_API_KEY_INVALID', 'SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id, format }, query: q }, req, reply, ctx) => {
      const who = await principal(req, q.api_key, ctx);
      const index = ctx.cityIndex();
      checkJurisdiction(index, q.jurisdiction_id);
      const ticket = await ctx.state.tickets.get(id);
      if (!ticket || !(await ticketRole(who, ticket, ctx.state.supervision))) throw swError('SW_ERR_NOT_FOUND', `service request ${id}`);
      return send(reply, format, 200, 'service_requests', 'request', [open311Request(ticket, index)]);
    },
  }),
];

/**
 * The Open311 scope: its own error format (`[{code, description}]` or `<errors>`, in the format
 * the path asked for) and status mapping (403 for a missing or wrong key, 404, 400 otherwise).
 */
export function registerOpen311(app: FastifyInstance, ctx: RouteContext): void {
  app.register(
    async (o311) => {
      o311.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
        const sw = err instanceof StreetWatchError ? err : new StreetWatchError(err.statusCode !== undefined && err.statusCode < 500 ? 'SW_ERR_BODY_INVALID' : 'SW_ERR_INTERNAL', [err.message], { cause: err });
        const status = open311Status(sw.code);
        const retryAfter = (sw.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
        if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
        if (status >= 500) req.log.error({ err }, 'open311 request failed');
        ctx.metrics.apiErrors.inc({ code: sw.code, status });
        void send(reply, formatOf(req), status, 'errors', 'error', [{ code: status, description: `${sw.code}: ${sw.message}` }]);
      });
      o311.setNotFoundHandler((req, reply) => {
        ctx.metrics.apiErrors.inc({ code: 'SW_ERR_NOT_FOUND', status: 404 });
        void send(reply, formatOf(req), 404, 'errors', 'error', [{ code: 404, description: `SW_ERR_NOT_FOUND: ${req.url.split('?')[0]} is not a GeoReport v2 resource here` }]);
      });
      mountRoutes(o311, open311Routes, ctx, OPEN311_ROOT);
    },
    { prefix: OPEN311_ROOT },
  );
}
