import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CityIndex } from '../core/city-index.js';
import { StreetWatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, StateStore } from '../core/ports.js';
import { describeZodError } from '../core/zod-issues.js';

/** Who is calling. */
export type ApiPrincipal = { role: 'admin' };

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null;
  }
}

/** What route modules get: the stores and services of this process. */
export interface ApiContext {
  state: StateStore;
  bus: Bus;
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

/** A group of routes, registered inside the authenticated scope. */
export type RouteModule = (api: FastifyInstance, ctx: ApiContext) => void;

/** Validates a request part; a failure is SW_ERR_BODY_INVALID naming the bad field. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const r = schema.safeParse(data ?? {});
  if (!r.success) throw new StreetWatchError('SW_ERR_BODY_INVALID', [describeZodError(r.error, [where])], { details: r.error.issues.slice(0, 20) });
  return r.data;
}

export const IdParams = z.strictObject({ id: z.string().min(1).max(128) });

/** The actor recorded in ticket timelines. */
export function actorOf(req: FastifyRequest): string {
  return req.principal?.role ?? 'anonymous';
}
