/**
 * The HTTP API. Every route but the health probes needs a bearer token; every error is a
 * catalogued `{ "error": { "code", "message" } }`. Routes live in `routes/`, one module per
 * domain.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { StreetWatchError, swError } from '../core/errors.js';
import { bearerToken, principalResolver } from './auth.js';
import { registerConsole } from './console-static.js';
import type { ApiContext } from './context.js';
import { cityRoutes } from './routes/city.js';
import { consoleRoutes } from './routes/console.js';
import { deviceRoutes } from './routes/devices.js';
import { kpiRoutes } from './routes/kpis.js';
import { registerOpen311 } from './routes/open311.js';
import { readingRoutes } from './routes/readings.js';
import { streamRoutes } from './routes/stream.js';
import { TicketStreamHub } from './stream-hub.js';
import { supervisionRoutes } from './routes/supervision.js';
import { ticketRoutes } from './routes/tickets.js';
import { tokenRoutes } from './routes/tokens.js';

/** Largest request body accepted. */
export const API_BODY_LIMIT = 64 * 1024;

export interface ApiOptions extends ApiContext {
  host: string;
  port: number;
  adminToken: string;
  /** Readiness of the process's stages, for `/readyz`. */
  ready: () => Record<string, boolean>;
}

export interface ApiServer {
  readonly port: number;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export async function startApi(opts: ApiOptions): Promise<ApiServer> {
  const resolve = principalResolver(opts.adminToken, opts.state.tokens, opts.cityIndex);
  const app = Fastify({
    loggerInstance: opts.logger.child({ stage: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: API_BODY_LIMIT,
    // Never let a proxy header decide who the caller is.
    trustProxy: false,
  });
  app.decorateRequest('principal', null);
  const hub = await TicketStreamHub.start(opts.bus, opts.logger.child({ stage: 'api' }));
  // Open event streams never end by themselves: end them so that closing the server completes.
  app.addHook('preClose', async () => hub.close());

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    // A route may allow more than the default (the bulk device import): name its own limit.
    const sw = toStreetWatchError(err, req.routeOptions.bodyLimit ?? API_BODY_LIMIT);
    if (sw.status >= 500) req.log.error({ err }, 'request failed');
    opts.metrics.rejected.inc({ code: sw.code });
    void reply.status(sw.status).send({ error: sw.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: swError('SW_ERR_NOT_FOUND', `route ${req.method} ${req.url.split('?')[0]}`).toJSON() });
  });

  const authenticate = async (req: FastifyRequest): Promise<void> => {
    const config = req.routeOptions.config;
    let token = bearerToken(req.headers.authorization);
    if (token === undefined && config.tokenInQuery) {
      const q = (req.query as Record<string, unknown> | undefined)?.access_token;
      if (typeof q === 'string') token = bearerToken(`Bearer ${q}`);
    }
    const principal = await resolve(token);
    if (!principal) throw swError('SW_ERR_UNAUTHORIZED');
    req.principal = principal;
    // Default deny: a unit token reaches only the routes that scope their answers to its unit.
    if (principal.role === 'unit' && !config.allowUnits) throw swError('SW_ERR_FORBIDDEN', `use ${req.method} ${req.routeOptions.url ?? 'this route'}`);
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks = opts.ready();
    const ready = Object.values(checks).every(Boolean);
    return reply.status(ready ? 200 : 503).send({ ready, checks });
  });

  // Open311 answers in its own error format and takes its key as api_key: a scope of its own.
  registerOpen311(app, opts, resolve);

  app.register(async (api) => {
    api.addHook('onRequest', authenticate);
    api.get('/metrics', async (_req, reply) => {
      reply.header('content-type', opts.metrics.registry.contentType);
      return opts.metrics.registry.metrics();
    });
    for (const routes of [deviceRoutes, ticketRoutes, supervisionRoutes, kpiRoutes, streamRoutes(hub), tokenRoutes, cityRoutes, readingRoutes, consoleRoutes]) routes(api, opts);
  });
  await registerConsole(app, { tileUrl: opts.console.tileUrl });

  await app.listen({ host: opts.host, port: opts.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { port, app, close: () => app.close() };
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
