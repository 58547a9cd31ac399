import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Open311Discovery, Open311PostAnswer, Open311Requests, Open311Services, TextBody } from '../../core/api-schemas.js';
import type { CityIndex } from '../../core/city-index.js';
import { StreetWatchError, swError } from '../../core/errors.js';
import type { ReportRecord, TicketFilter } from '../../core/ports.js';
import { Open311KeyQuery, Open311PostBody, Open311RequestsQuery, REPORT_ID_RE, type Ticket } from '../../core/schemas.js';
import { OPEN_STATUSES } from '../../core/tickets/lifecycle.js';
import { unitsUnder } from '../../core/tickets/units.js';
import { bearerToken } from '../auth.js';
import type { ApiPrincipal } from '../context.js';
import { open311Status } from '../openapi.js';
import { OPEN311_CONTENT_TYPE, open311Body, open311Discovery, open311DiscoveryBody, open311ReportRequest, open311Request, open311Services, type Open311Format } from '../open311.js';
import { mountRoutes, route, type Route, type RouteContext } from '../route-table.js';
import { ticketRole } from '../ticket-access.js';
import { confirmPath } from './reports.js';

export const OPEN311_ROOT = '/open311';
export const OPEN311_PREFIX = `${OPEN311_ROOT}/v2`;
/** The spec's default and largest window for `GET requests`. */
export const OPEN311_WINDOW_MS = 90 * 86_400_000;
/** The spec's default result cap. */
export const OPEN311_MAX_REQUESTS = 1000;
/** Largest `POST requests` body: the spec's fields, a 4,000-character description and a URL fit many times over. */
export const OPEN311_POST_LIMIT = 16 * 1024;

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

/** The window of `GET requests`: the last 90 days by default, never more than 90 days. */
function window(q: { start_date?: number | undefined; end_date?: number | undefined }, now: number): { start: number; end: number } {
  const end = q.end_date ?? now;
  const start = q.start_date ?? end - OPEN311_WINDOW_MS;
  if (start > end) throw swError('SW_ERR_BODY_INVALID', 'start_date is after end_date');
  if (end - start > OPEN311_WINDOW_MS) throw swError('SW_ERR_BODY_INVALID', 'start_date to end_date may not span more than 90 days');
  return { start, end };
}

/** A report the caller may read as a service request: the key that filed it, the admin, or whoever sees its ticket. */
async function readableReport(who: ApiPrincipal, id: string, ctx: RouteContext): Promise<{ report: ReportRecord; ticket: Ticket | undefined } | undefined> {
  const report = await ctx.state.reports.get(id);
  if (!report) return undefined;
  const ticket = report.ticketId === null ? undefined : await ctx.state.tickets.get(report.ticketId);
  if (who.role === 'admin' || ctx.reportIntake.filerOf(who) === report.filedBy) return { report, ticket };
  return ticket && (await ticketRole(who, ticket, ctx.state.supervision, ctx.cityIndex())) ? { report, ticket } : undefined;
}

/** A reporter key's own requests: the reports it filed, newest first, as the query narrows them. */
async function reporterRequests(who: ApiPrincipal, q: z.output<typeof Open311RequestsQuery>, ctx: RouteContext): Promise<object[]> {
  const index = ctx.cityIndex();
  const filer = ctx.reportIntake.filerOf(who);
  let reports: ReportRecord[];
  if (q.service_request_id !== undefined) {
    reports = [];
    for (const id of q.service_request_id) {
      const r = REPORT_ID_RE.test(id) ? await ctx.state.reports.get(id) : undefined;
      if (r && r.filedBy === filer) reports.push(r);
    }
  } else {
    const { start, end } = window(q, ctx.clock.now());
    reports = (await ctx.state.reports.list({ filedBy: filer, limit: OPEN311_MAX_REQUESTS })).filter((r) => r.createdAt >= start && r.createdAt <= end);
    if (q.service_code !== undefined && q.service_code.length > 0) reports = reports.filter((r) => q.service_code!.includes(r.category));
  }
  const out: object[] = [];
  for (const r of reports) {
    const ticket = r.ticketId === null ? undefined : await ctx.state.tickets.get(r.ticketId);
    const request = open311ReportRequest(r, ticket, index);
    if (q.service_request_id === undefined && q.status?.length === 1 && request.status !== q.status[0]) continue;
    out.push(request);
  }
  return out;
}

function checkJurisdiction(index: CityIndex, id: string | undefined): void {
  if (id !== undefined && id !== index.city.district.id) throw swError('SW_ERR_NOT_FOUND', `jurisdiction_id ${id}`);
}

function send(reply: FastifyReply, format: Open311Format, status: number, root: string, item: string, list: readonly object[]): FastifyReply {
  return reply.status(status).header('content-type', OPEN311_CONTENT_TYPE[format]).send(open311Body(format, root, item, list));
}

const XML = { 'text/xml': TextBody };

/**
 * Open311 GeoReport v2, so existing 311 tools can follow the tickets and citizens' apps and
 * 12345 systems can report: discovery and services are public, as the spec has them; requests
 * (list and by id) take an `api_key`: a unit token (it reads its own tickets and those of the
 * communities and grids below it), a department token (the tickets it leads or co-handles), a
 * reporter key (the requests it filed), or the admin token. `POST requests` files a people's
 * report, taken into the same merge as sensor alerts. JSON and XML.
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
      if (who.role === 'reporter') return send(reply, format, 200, 'service_requests', 'request', await reporterRequests(who, q, ctx));
      let tickets: Ticket[];
      const reports: object[] = [];
      if (q.service_request_id !== undefined) {
        // The spec: service_request_id overrides every other argument. A report's id answers as itself.
        tickets = [];
        for (const id of q.service_request_id) {
          if (REPORT_ID_RE.test(id)) {
            const r = await readableReport(who, id, ctx);
            if (r) reports.push(open311ReportRequest(r.report, r.ticket, index));
            continue;
          }
          const t = await ctx.state.tickets.get(id);
          if (t && (await ticketRole(who, t, ctx.state.supervision, index))) tickets.push(t);
        }
      } else {
        const { start, end } = window(q, ctx.clock.now());
        const filter: TicketFilter = { createdFrom: start, createdTo: end + 1, limit: OPEN311_MAX_REQUESTS };
        if (who.role === 'unit') filter.subcenterId = unitsUnder(index, who.unitId);
        if (who.role === 'department') filter.department = who.department;
        if (q.status?.length === 1) filter.status = q.status[0] === 'closed' ? 'closed' : [...OPEN_STATUSES];
        tickets = await ctx.state.tickets.list(filter);
        if (q.service_code !== undefined && q.service_code.length > 0) tickets = tickets.filter((t) => q.service_code!.includes(t.category));
      }
      return send(reply, format, 200, 'service_requests', 'request', [...tickets.map((t) => open311Request(t, index)), ...reports]);
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
      if (REPORT_ID_RE.test(id)) {
        const r = await readableReport(who, id, ctx);
        if (!r) throw swError('SW_ERR_NOT_FOUND', `service request ${id}`);
        return send(reply, format, 200, 'service_requests', 'request', [open311ReportRequest(r.report, r.ticket, index)]);
      }
      const ticket = await ctx.state.tickets.get(id);
      if (!ticket || !(await ticketRole(who, ticket, ctx.state.supervision, index))) throw swError('SW_ERR_NOT_FOUND', `service request ${id}`);
      return send(reply, format, 200, 'service_requests', 'request', [open311Request(ticket, index)]);
    },
  }),
  route({
    method: 'POST',
    url: `${OPEN311_PREFIX}/requests.:format`,
    operationId: 'open311CreateRequest',
    summary: "GeoReport v2: submit a service request (a citizen's or a 12345 system's report)",
    description:
      "Form-encoded as the spec has it (or JSON). `api_key`: a reporter key (`swrep_...`), a unit token or the admin token. `lat` and `long` are required (no geocoding of addresses); the spec's personal fields are accepted and not stored; `media_url` is kept as given and never fetched. The request becomes an alert of its own kind on sw.alerts and merges like a sensor's. The answer's `service_request_id` is the report's id, to follow with GET requests/{id}; `confirm_url` (not in the spec) is the reporter's confirmation page. Limited per key.",
    tag: 'open311',
    access: 'api_key',
    params: FormatParams,
    body: Open311PostBody,
    bodyLimit: OPEN311_POST_LIMIT,
    responses: { 201: { description: 'Received: the new request', schema: Open311PostAnswer, also: XML } },
    errors: ['SW_ERR_API_KEY_INVALID', 'SW_ERR_FORBIDDEN', 'SW_ERR_NOT_FOUND', 'SW_ERR_REFERENCE_UNKNOWN', 'SW_ERR_RATE_LIMITED'],
    handler: async ({ params: { format }, body }, req, reply, ctx) => {
      // The key was checked before the body (registerOpen311): nobody learns what a request holds without one.
      const who = req.principal!;
      if (who.role === 'department') throw swError('SW_ERR_FORBIDDEN', 'file requests with a department token (use a reporter key or a unit token)');
      const index = ctx.cityIndex();
      checkJurisdiction(index, body.jurisdiction_id || undefined);
      const service = index.city.categories.get(body.service_code)?.name ?? body.service_code;
      const { report, confirmToken } = await ctx.reportIntake.file(who, {
        channel: 'open311',
        category: body.service_code,
        location: { lat: body.lat, lon: body.long },
        note: body.description || service,
        address: body.address_string || undefined,
        mediaUrl: body.media_url || undefined,
      });
      const answer = { service_request_id: report.id, service_notice: `已受理 (received): ${service}`, account_id: null, confirm_url: confirmPath(report.id, confirmToken) };
      return send(reply, format, 201, 'service_requests', 'request', [answer]);
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
      // The spec posts forms. Parsed into a plain object of the last value of each name; the schema
      // keeps the fields it knows (wire keys never reach a prototype: fromEntries defines them).
      o311.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: OPEN311_POST_LIMIT }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      });
      // A request is submitted with its key in the body (or the query): checked before the body is.
      o311.addHook('preHandler', async (req) => {
        if (req.method !== 'POST') return;
        const raw = req.body as Record<string, unknown> | null | undefined;
        const query = req.query as Record<string, unknown> | undefined;
        const key = [raw?.api_key, query?.api_key].find((k): k is string => typeof k === 'string' && k !== '' && k.length <= 512);
        req.principal = await principal(req, key, ctx);
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
