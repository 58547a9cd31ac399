import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CityIndex } from '../core/city-index.js';
import { StreetWatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Config } from '../core/config.js';
import type { Bus, Clock, SeriesStore, StateStore } from '../core/ports.js';
import type { StorageMonitor } from '../core/retention/storage.js';
import { describeZodError } from '../core/zod-issues.js';

/**
 * Who is calling: the admin (district operations, sees everything); a unit (a street
 * sub-center, a community, a grid, or the district command center acting as the supervising
 * parent) through one of its API tokens; a wall screen through a display token: it reads what
 * the wall shows and acts on nothing (the district center's display shows the whole city,
 * `scope` undefined, a sub-center's that sub-center's tickets); a functional department, which
 * sees the tickets it leads or co-handles; or a reporter key (a citizens' app, a 12345 system),
 * which files reports and reads those it filed.
 */
export type ApiPrincipal =
  | { role: 'admin' }
  | { role: 'unit'; unitId: string; tokenId: string }
  | { role: 'display'; unitId: string; tokenId: string; scope: string | undefined }
  | { role: 'department'; department: string; tokenId: string }
  | { role: 'reporter'; tokenId: string; label: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null;
    /** The device that authenticated itself with its own credentials (routes of `device` access). */
    device: string | null;
  }
  interface FastifyContextConfig {
    /** Unit tokens may call this route (each route then scopes what a unit sees). Default: admin only. */
    allowUnits?: boolean;
    /** The token may come as `?access_token=` (EventSource cannot set headers). */
    tokenInQuery?: boolean;
    /** Display tokens may call this route: a read the wall view needs, scoped like a unit's. Default: refused. */
    allowDisplay?: boolean;
    /** Department tokens may call this route (it scopes what a department sees). Default: refused. */
    allowDepartments?: boolean;
    /** Reporter keys may call this route (it scopes to the reports the key filed). Default: refused. */
    allowReporters?: boolean;
  }
}

/** What route modules get: the stores and services of this process. */
export interface ApiContext {
  state: StateStore;
  series: SeriesStore;
  bus: Bus;
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Deployment settings for the web console (map tiles). */
  console: Config['console'];
  /** The CAP 1.2 feed's grades and sender. */
  cap: Config['cap'];
  /** HTTP ingest of departments' systems: per-token rate and the payload limit (defaults when absent). */
  httpIngest?: { ratePerSecond: number; burst: number; maxPayloadBytes: number };
  /** Limits of people's reports: rate per token, photo size, retention. */
  reports: Config['reports'];
  /** How long readings are kept at each resolution: the readings route answers from the one that holds a period. */
  retention: Config['retention'];
  /** Store sizes and the retention job, for `GET /api/storage`. */
  storage?: StorageMonitor;
  /** Forgets a deleted device's state (core/device-state.ts); its failures are caught up by the periodic reconciliation. */
  forgetDevice?: (deviceId: string) => Promise<void>;
  /** What `/readyz` warns about without failing (free disk running low). */
  warnings?: () => string[];
}

/**
 * Who a token belongs to, asked from a client address. An address that failed too often is
 * refused (SW_ERR_RATE_LIMITED) before the token is looked at; a token that matches nobody
 * counts as a failure of its address. No token at all is not a failure: nothing was guessed.
 */
export type TokenLogin = (token: string | undefined, address: string) => Promise<ApiPrincipal | undefined>;

/**
 * Validates a request part; a failure is SW_ERR_BODY_INVALID naming the bad field. A part that
 * was not sent reads as `{}`; a JSON `null` that was sent is refused like any other wrong type.
 */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const r = schema.safeParse(data === undefined ? {} : data);
  if (!r.success) throw new StreetWatchError('SW_ERR_BODY_INVALID', [describeZodError(r.error, [where])], { details: r.error.issues.slice(0, 20) });
  return r.data;
}

export const IdParams = z.strictObject({ id: z.string().min(1).max(128) });

/** The actor recorded in ticket timelines: `admin`, `unit:<id>`, `department:<id>`, `key:<token id>`. */
export function actorOf(req: FastifyRequest): string {
  return principalActor(req.principal);
}

export function principalActor(p: ApiPrincipal | null): string {
  if (!p) return 'anonymous';
  switch (p.role) {
    case 'admin':
      return 'admin';
    case 'unit':
      return `unit:${p.unitId}`;
    case 'display':
      return `display:${p.tokenId}`;
    case 'department':
      return `department:${p.department}`;
    case 'reporter':
      return `key:${p.tokenId}`;
  }
}

/** The department a request acts for, if a department token made it. */
export function departmentOf(req: FastifyRequest): string | undefined {
  return req.principal?.role === 'department' ? req.principal.department : undefined;
}

/** The unit whose view a request gets; undefined for the admin and for a whole-city display. */
export function unitOf(req: FastifyRequest): string | undefined {
  const p = req.principal;
  if (p?.role === 'display') return p.scope;
  return p?.role === 'unit' ? p.unitId : undefined;
}
