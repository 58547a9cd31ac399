/**
 * The HTTP API. Every route but the health probes needs a bearer token; every error is a
 * catalogued `{ "error": { "code", "message" } }`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CityIndex } from '../core/city-index.js';
import { StreetWatchError, swError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, StateStore } from '../core/ports.js';
import { DeviceCreateBody, DeviceId, TicketActionBody, TicketStatus, type DeviceRecord, type DeviceView, type Ticket } from '../core/schemas.js';
import { describeZodError } from '../core/zod-issues.js';
import { transition } from '../alerting/lifecycle.js';
import { commitTicket } from '../alerting/ticket-commit.js';
import { generateSecret, hashSecret } from '../broker/secret-hash.js';
import { TokenMatcher, bearerToken } from './auth.js';

/** Largest request body accepted. */
export const API_BODY_LIMIT = 64 * 1024;

export type ApiPrincipal = { role: 'admin' };

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null;
  }
}

export interface ApiOptions {
  host: string;
  port: number;
  adminToken: string;
  state: StateStore;
  bus: Bus;
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Readiness of the process's stages, for `/readyz`. */
  ready: () => Record<string, boolean>;
}

export interface ApiServer {
  readonly port: number;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

const TicketQuery = z.strictObject({
  subcenter: z.string().max(64).optional(),
  status: z
    .string()
    .max(200)
    .transform((s) => s.split(','))
    .pipe(z.array(TicketStatus))
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
const IdParams = z.strictObject({ id: z.string().min(1).max(128) });

function parse<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const r = schema.safeParse(data ?? {});
  if (!r.success) throw new StreetWatchError('SW_ERR_BODY_INVALID', [describeZodError(r.error, [where])], { details: r.error.issues.slice(0, 20) });
  return r.data;
}

export function deviceView(d: DeviceRecord): DeviceView {
  const { secretHash: _hidden, ...view } = d;
  return view;
}

export async function startApi(opts: ApiOptions): Promise<ApiServer> {
  const { state, clock } = opts;
  const admin = new TokenMatcher(opts.adminToken);
  const app = Fastify({
    loggerInstance: opts.logger.child({ stage: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: API_BODY_LIMIT,
    // Never let a proxy header decide who the caller is.
    trustProxy: false,
  });
  app.decorateRequest('principal', null);

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    const sw = toStreetWatchError(err);
    if (sw.status >= 500) req.log.error({ err }, 'request failed');
    opts.metrics.rejected.inc({ code: sw.code });
    void reply.status(sw.status).send({ error: sw.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: swError('SW_ERR_NOT_FOUND', `route ${req.method} ${req.url.split('?')[0]}`).toJSON() });
  });

  const authenticate = async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (token !== undefined && admin.matches(token)) {
      req.principal = { role: 'admin' };
      return;
    }
    throw swError('SW_ERR_UNAUTHORIZED');
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks = opts.ready();
    const ready = Object.values(checks).every(Boolean);
    return reply.status(ready ? 200 : 503).send({ ready, checks });
  });

  app.register(async (api) => {
    api.addHook('onRequest', authenticate);

    api.get('/metrics', async (_req, reply) => {
      reply.header('content-type', opts.metrics.registry.contentType);
      return opts.metrics.registry.metrics();
    });

    api.post('/api/devices', async (req, reply) => {
      const body = parse(DeviceCreateBody, req.body, 'body');
      const secret = generateSecret();
      const device: DeviceRecord = {
        id: body.id,
        kind: body.kind,
        location: body.location,
        secretHash: await hashSecret(secret),
        createdAt: clock.now(),
        status: 'unknown',
        lastSeen: null,
      };
      await state.devices.add(device);
      req.log.info({ deviceId: device.id }, 'device provisioned');
      return reply.status(201).send({ id: device.id, secret, device: deviceView(device) });
    });

    api.get('/api/devices', async () => ({ devices: (await state.devices.list()).map(deviceView) }));

    api.get('/api/devices/:id', async (req) => {
      const { id } = parse(IdParams, req.params, 'params');
      const device = await state.devices.get(id);
      if (!device) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      return deviceView(device);
    });

    api.post('/api/devices/:id/rotate-secret', async (req) => {
      const { id } = parse(IdParams, req.params, 'params');
      parse(DeviceId, id, 'params.id');
      const secret = generateSecret();
      if (!(await state.devices.setSecretHash(id, await hashSecret(secret)))) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      req.log.info({ deviceId: id }, 'device secret rotated');
      return { id, secret };
    });

    api.delete('/api/devices/:id', async (req, reply) => {
      const { id } = parse(IdParams, req.params, 'params');
      if (!(await state.devices.remove(id))) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      return reply.status(204).send();
    });

    api.get('/api/tickets', async (req) => {
      const q = parse(TicketQuery, req.query, 'query');
      const filter: Parameters<typeof state.tickets.list>[0] = { limit: q.limit };
      if (q.subcenter !== undefined) filter.subcenterId = q.subcenter;
      if (q.status !== undefined) filter.status = q.status;
      return { tickets: await state.tickets.list(filter) };
    });

    api.get('/api/tickets/:id', async (req) => loadTicket(parse(IdParams, req.params, 'params').id));

    api.post('/api/tickets/:id/ack', async (req) => {
      const { id } = parse(IdParams, req.params, 'params');
      const { note } = parse(TicketActionBody, req.body, 'body');
      const ticket = await loadTicket(id);
      const now = clock.now();
      const updated = transition(ticket, 'acknowledged', actorOf(req), now, note);
      await commitTicket({ tickets: state.tickets, bus: opts.bus, cityIndex: opts.cityIndex, metrics: opts.metrics }, updated, 'ticket.updated', now);
      return updated;
    });

    api.get('/api/subcenters', async () => {
      const { city } = opts.cityIndex();
      return featureCollection(city.subcenters.map(({ geometry, webhook: _w, secret: _s, ...properties }) => ({ geometry, properties })));
    });

    api.get('/api/zones', async () => {
      const { city } = opts.cityIndex();
      return featureCollection(city.zones.map(({ geometry, ...properties }) => ({ geometry, properties })));
    });
  });

  async function loadTicket(id: string): Promise<Ticket> {
    const ticket = await state.tickets.get(id);
    if (!ticket) throw swError('SW_ERR_NOT_FOUND', `ticket ${id}`);
    return ticket;
  }

  await app.listen({ host: opts.host, port: opts.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { port, app, close: () => app.close() };
}

function actorOf(req: FastifyRequest): string {
  return req.principal?.role ?? 'anonymous';
}

function featureCollection(features: { geometry: unknown; properties: unknown }[]): unknown {
  return { type: 'FeatureCollection', features: features.map((f) => ({ type: 'Feature', ...f })) };
}

/** Maps framework errors (bad JSON, body too large, wrong content type) onto the catalogue. */
function toStreetWatchError(err: Error & { code?: string; statusCode?: number }): StreetWatchError {
  if (err instanceof StreetWatchError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return swError('SW_ERR_BODY_TOO_LARGE', API_BODY_LIMIT);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return swError('SW_ERR_MEDIA_TYPE', 'of this request');
    default:
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return new StreetWatchError('SW_ERR_BODY_INVALID', [err.message], { cause: err });
      }
      return new StreetWatchError('SW_ERR_INTERNAL', ['the request could not be completed'], { cause: err });
  }
}
