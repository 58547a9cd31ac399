/**
 * The HTTP API. Every route but the public ones (health probes, the API's description, Open311
 * discovery and services) needs a bearer token; every error is a catalogued
 * `{ "error": { "code", "message" } }`. Routes are declared with their schemas in `routes/`, one
 * module per domain, listed in routes/index.ts, from which the OpenAPI document is generated.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { LoginThrottleConfig } from '../core/config.js';
import { StreetWatchError, swError } from '../core/errors.js';
import { KeyedRateLimiter, LoginThrottle } from '../core/rate-limit.js';
import { unitById } from '../core/tickets/units.js';
import { ingestAuthenticator } from './ingest-auth.js';
import { TICKET_STATUSES } from '../core/schemas.js';
import { verifySecret } from '../core/secret-hash.js';
import { basicCredentials, bearerToken, principalResolver } from './auth.js';
import { tileOrigins } from '../core/basemap.js';
import { registerConsole } from './console-static.js';
import { consoleBasemap } from './routes/console.js';
import type { ApiContext, ApiPrincipal, TokenLogin } from './context.js';
import { mountRoutes, type RouteContext } from './route-table.js';
import { API_ROUTES, apiDocument } from './routes/index.js';
import { registerOpen311 } from './routes/open311.js';
import { ReportIntake } from './report-intake.js';
import { TicketStreamHub } from './stream-hub.js';

/** Largest request body accepted. */
export const API_BODY_LIMIT = 64 * 1024;
/** Longest path parameter the router passes on (the schemas' limits are lower: 128 at most). */
export const API_MAX_PARAM_LENGTH = 256;
/** How long a client may take to send a whole request (headers and body): slow senders hold sockets. */
export const API_REQUEST_TIMEOUT_MS = 30_000;

/** Most open tickets one scrape of `/metrics` counts: far above any real backlog, low enough to read quickly. */
export const OPEN_TICKETS_SCRAPE_LIMIT = 10_000;
const OPEN_STATUSES = TICKET_STATUSES.filter((s) => s !== 'closed');

export interface ApiOptions extends ApiContext {
  host: string;
  port: number;
  adminToken: string;
  /** Readiness of the process's stages, for `/readyz`. */
  ready: () => Record<string, boolean>;
  /** Failed logins tolerated per client address. */
  loginFailures: LoginThrottleConfig;
  /** Writes (POST, PUT, PATCH, DELETE) per token. */
  apiWrites: { ratePerSecond: number; burst: number };
}

/** Methods that only read: never limited per token. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A route as registered: what an audit walks through. */
export interface RouteInfo {
  method: string;
  url: string;
  /** Whether unit tokens may call it (each such route scopes its answers to the unit). */
  allowUnits: boolean;
  /** Whether display tokens may call it (a read of the wall view, scoped the same way). */
  allowDisplay: boolean;
  /** Whether department tokens may call it (scoped to the department's tickets). */
  allowDepartments: boolean;
  /** Whether reporter keys may call it (scoped to the reports the key filed). */
  allowReporters: boolean;
}

export interface ApiServer {
  readonly port: number;
  readonly app: FastifyInstance;
  /** Every route of the server, HEAD routes included. */
  readonly routes: readonly RouteInfo[];
  close(): Promise<void>;
}

export async function startApi(opts: ApiOptions): Promise<ApiServer> {
  const resolve = principalResolver(opts.adminToken, opts.state.tokens, opts.cityIndex);
  const throttle = new LoginThrottle(opts.loginFailures, opts.clock);
  // Per token, not per address: a unit's token is one client whatever address it calls from.
  const writes = new KeyedRateLimiter({ ratePerSecond: opts.apiWrites.ratePerSecond, burst: opts.apiWrites.burst }, opts.clock);
  const login: TokenLogin = async (token, address) => {
    const wait = throttle.refusedFor(address);
    if (wait > 0) {
      opts.metrics.limited.inc({ limit: 'http_auth_failures' });
      const retryAfterSeconds = Math.ceil(wait / 1000);
      throw new StreetWatchError('SW_ERR_RATE_LIMITED', [`too many failed logins from this address, retry in ${retryAfterSeconds} s`], { details: { retryAfterSeconds } });
    }
    const principal = await resolve(token);
    if (!principal && token !== undefined) throttle.failed(address);
    return principal;
  };
  const app = Fastify({
    loggerInstance: opts.logger.child({ stage: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: API_BODY_LIMIT,
    // Above every path parameter's declared maximum, so that the route's schema decides and names the field.
    routerOptions: { maxParamLength: API_MAX_PARAM_LENGTH },
    requestTimeout: API_REQUEST_TIMEOUT_MS,
    // Never let a proxy header decide who the caller is.
    trustProxy: false,
    // Errors the router answers before any route runs (a malformed or overlong path) are coded too.
    frameworkErrors: (err, _req, reply) => {
      const sw = new StreetWatchError('SW_ERR_BODY_INVALID', [err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the path is not a valid URL'], { cause: err });
      opts.metrics.apiErrors.inc({ code: sw.code, status: sw.status });
      void (reply as FastifyReply).status(sw.status).send({ error: sw.toJSON() });
    },
  });
  // JSON only: every body the API takes is JSON, and each parser is one more thing to attack.
  app.removeContentTypeParser('text/plain');
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (route) => {
    const c = route.config;
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, allowUnits: c?.allowUnits === true, allowDisplay: c?.allowDisplay === true, allowDepartments: c?.allowDepartments === true, allowReporters: c?.allowReporters === true });
    }
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('device', null);
  // Open tickets by grade for `/metrics`, read at each scrape; bounded so a backlog cannot make a scrape heavy.
  opts.metrics.countOpenTickets(() => opts.state.tickets.list({ status: OPEN_STATUSES, limit: OPEN_TICKETS_SCRAPE_LIMIT }));
  const hub = await TicketStreamHub.start({
    bus: opts.bus,
    log: opts.logger.child({ stage: 'api' }),
    tokenValid: async (tokenId, unitId) => {
      const token = (await opts.state.tokens.list(unitId)).find((t) => t.id === tokenId);
      // A department's stream is keyed by its department (one id namespace with the units).
      const index = opts.cityIndex();
      return token !== undefined && token.revokedAt === null && (unitById(index, unitId) !== undefined || index.city.departments.has(unitId));
    },
  });
  // Open event streams never end by themselves: end them so that closing the server completes.
  app.addHook('preClose', async () => hub.close());

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    // A route may allow more than the default (the bulk device import): name its own limit.
    const sw = toStreetWatchError(err, req.routeOptions.bodyLimit ?? API_BODY_LIMIT);
    if (sw.status >= 500) req.log.error({ err }, 'request failed');
    opts.metrics.apiErrors.inc({ code: sw.code, status: sw.status });
    const retryAfter = (sw.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    void reply.status(sw.status).send({ error: sw.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    opts.metrics.apiErrors.inc({ code: 'SW_ERR_NOT_FOUND', status: 404 });
    void reply.status(404).send({ error: swError('SW_ERR_NOT_FOUND', `route ${req.method} ${req.url.split('?')[0]}`).toJSON() });
  });

  /** A device reading what concerns itself, with the credentials it connects with (failures count as logins). */
  const deviceLogin = async (req: FastifyRequest, user: string, password: string): Promise<void> => {
    const wait = throttle.refusedFor(req.ip);
    if (wait > 0) {
      opts.metrics.limited.inc({ limit: 'http_auth_failures' });
      throw new StreetWatchError('SW_ERR_RATE_LIMITED', [`too many failed logins from this address, retry in ${Math.ceil(wait / 1000)} s`], { details: { retryAfterSeconds: Math.ceil(wait / 1000) } });
    }
    const device = await opts.state.devices.get(user);
    if (!device || !(await verifySecret(password, device.secretHash))) {
      throttle.failed(req.ip);
      throw swError('SW_ERR_BAD_CREDENTIALS', user.slice(0, 64));
    }
    // A device reads only its own records.
    if ((req.params as { id?: unknown }).id !== user) throw swError('SW_ERR_FORBIDDEN', `read device ${String((req.params as { id?: unknown }).id)} as device ${user}`);
    req.device = user;
  };

  // HTTP ingest takes the ingest token of a department's system, and nothing else.
  const ingestLogin = ingestAuthenticator({ ...opts, login, throttle });

  const authenticate = async (req: FastifyRequest): Promise<void> => {
    const config = req.routeOptions.config;
    if (config.route?.access === 'public') return;
    if (config.route?.access === 'ingest') return ingestLogin(req);
    const basic = config.route?.access === 'device' ? basicCredentials(req.headers.authorization) : undefined;
    if (basic) return deviceLogin(req, basic.user, basic.password);
    let token = bearerToken(req.headers.authorization);
    if (token === undefined && config.tokenInQuery) {
      const q = (req.query as Record<string, unknown> | undefined)?.access_token;
      if (typeof q === 'string') token = bearerToken(`Bearer ${q}`);
    }
    const principal = await login(token, req.ip);
    if (!principal) throw swError('SW_ERR_UNAUTHORIZED');
    req.principal = principal;
    // Default deny: a unit token reaches only the routes that scope their answers to its unit.
    if (principal.role === 'unit' && !config.allowUnits) throw swError('SW_ERR_FORBIDDEN', `use ${req.method} ${req.routeOptions.url ?? 'this route'}`);
    // A display token reaches only the reads of the wall view.
    if (principal.role === 'display' && !config.allowDisplay) throw swError('SW_ERR_FORBIDDEN', `use ${req.method} ${req.routeOptions.url ?? 'this route'} (a display token only reads the wall view)`);
    // A department's token reaches the routes that scope to its tickets, a reporter key those of its reports.
    if (principal.role === 'department' && !config.allowDepartments) throw swError('SW_ERR_FORBIDDEN', `use ${req.method} ${req.routeOptions.url ?? 'this route'}`);
    if (principal.role === 'reporter' && !config.allowReporters) throw swError('SW_ERR_FORBIDDEN', `use ${req.method} ${req.routeOptions.url ?? 'this route'} (a reporter key files and follows reports)`);
    // The admin provisions fleets and imports in bulk; it is the operator, not one of the clients to keep apart.
    if (!READ_METHODS.has(req.method) && principal.role !== 'admin') limitWrites(principal);
  };

  /** One token's writes (feedback, acks, imports...) at most at its rate: it cannot churn tickets or the store for everyone. */
  const limitWrites = (principal: Exclude<ApiPrincipal, { role: 'admin' }>): void => {
    const key = `token:${principal.tokenId}`;
    if (writes.take(key)) return;
    opts.metrics.limited.inc({ limit: 'api_writes' });
    const retryAfterSeconds = Math.max(1, Math.ceil(writes.waitMs(key) / 1000));
    throw new StreetWatchError('SW_ERR_RATE_LIMITED', [`too many writes with this token, retry in ${retryAfterSeconds} s`], { details: { retryAfterSeconds } });
  };

  const document = apiDocument();
  const reportIntake = new ReportIntake(opts, opts.reports, opts.logger.child({ stage: 'api' }));
  const loginFailures = { refusedFor: (a: string) => throttle.refusedFor(a), failed: (a: string) => throttle.failed(a) };
  const ctx: RouteContext = { ...opts, hub, login, ready: opts.ready, document: () => document, reportIntake, loginFailures };
  // Open311 answers in its own error format and takes its key as api_key: a scope of its own.
  registerOpen311(app, ctx);
  app.register(async (api) => {
    api.addHook('onRequest', authenticate);
    mountRoutes(api, API_ROUTES, ctx);
  });
  await registerConsole(app, { tileOrigins: () => tileOrigins(consoleBasemap(opts.console, opts.cityIndex())) });

  await app.listen({ host: opts.host, port: opts.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { port, app, routes, close: () => app.close() };
}

/** Maps framework errors (bad JSON, body too large, wrong content type) onto the catalogue. */
function toStreetWatchError(err: Error & { code?: string; statusCode?: number }, bodyLimit: number): StreetWatchError {
  if (err instanceof StreetWatchError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return swError('SW_ERR_BODY_TOO_LARGE', bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return swError('SW_ERR_MEDIA_TYPE', 'of this request');
    default:
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return new StreetWatchError('SW_ERR_BODY_INVALID', [err.message], { cause: err });
      }
      return new StreetWatchError('SW_ERR_INTERNAL', ['the request could not be completed'], { cause: err });
  }
}
