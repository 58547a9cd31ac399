/**
 * Routes declared with their contract. A route names its path, query and body schemas, its
 * responses and the coded errors it may answer; the server registers its handler from the
 * declaration (validating each request part with the declared schema before the handler runs),
 * and the OpenAPI document (api/openapi.ts) is generated from the same declarations. A route
 * therefore cannot be served without being documented, nor documented with another shape than
 * the one it checks: test/e2e/openapi.test.ts fails when a registered route is missing from the
 * document.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ErrorCode } from '../core/errors.js';
import { parse, type ApiContext, type TokenLogin } from './context.js';
import type { ReportIntake } from './report-intake.js';
import type { TicketStreamHub } from './stream-hub.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route: `public` (no credential), `admin` (the admin bearer token), `units`
 * (the admin or a unit's bearer token; the route scopes its answer to the unit), `wall` (as
 * `units`, or a display token: the reads of the wall view, scoped the same way), `device` (as
 * `units`, or the device named by the path's `:id` itself, with HTTP Basic `id:secret`, the
 * credentials it connects with), `api_key` (Open311: a unit token as `api_key`, or as a bearer
 * token), `ingest` (the ingest token of a department's system, `swi_...`, and no other).
 */
export type RouteAccess = 'public' | 'admin' | 'units' | 'wall' | 'device' | 'api_key' | 'ingest';

export interface RouteResponse {
  description: string;
  /** The body; none for an empty answer. */
  schema?: z.ZodType;
  /** `application/json` unless said. */
  contentType?: string;
  /** The same answer in other media types (Open311's XML), by type. */
  also?: Readonly<Record<string, z.ZodType>>;
}

type Part = z.ZodType | undefined;
type Out<S extends Part> = S extends z.ZodType ? z.output<S> : undefined;

/** What a handler gets: the request parts, already validated by their schemas. */
export interface RouteInput<P extends Part, Q extends Part, B extends Part> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

/** What handlers reach: the process's stores and services, the event hub and the login check. */
export interface RouteContext extends ApiContext {
  hub: TicketStreamHub;
  login: TokenLogin;
  /** Readiness of the process's stages, for `/readyz`. */
  ready: () => Record<string, boolean>;
  /** The OpenAPI document of the routes this server serves. */
  document: () => Record<string, unknown>;
  /** People's reports as they come in (rate limits, photos, the reporter's confirmation). */
  reportIntake: ReportIntake;
  /** Failed logins per address, for credentials checked by a route itself (a confirmation link's token). */
  loginFailures: { refusedFor(address: string): number; failed(address: string): void };
}

export interface RouteSpec<P extends Part = Part, Q extends Part = Part, B extends Part = Part> {
  method: HttpMethod;
  /** Fastify's syntax: `/api/tickets/:id`, `/open311/v2/requests/:id.:format`. */
  url: string;
  /** Unique, stable: client generators name their functions after it. */
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: RouteAccess;
  params?: P;
  query?: Q;
  body?: B;
  /** Success answers by status. Error answers come from `errors` and what every route may answer. */
  responses: Readonly<Record<number, RouteResponse>>;
  /** Catalogued errors this route answers beyond the common ones (api/openapi.ts `commonErrors`). */
  errors?: readonly ErrorCode[];
  /** A body limit other than the server's default, for this route only (from the configuration when a function). */
  bodyLimit?: number | ((ctx: RouteContext) => number);
  /** The bearer token may come as `?access_token=` (EventSource cannot set headers). */
  tokenInQuery?: boolean;
  /** Department tokens may call it too (with `units` or `wall` access): it scopes its answer to the tickets the department leads or co-handles. */
  departments?: boolean;
  /** Reporter keys may call it too: it scopes its answer to the reports the key filed. */
  reporters?: boolean;
  /** The body is the raw bytes of one of these media types (an image), not JSON; `bodyLimit` bounds it. */
  rawBody?: readonly string[];
  handler: (input: RouteInput<P, Q, B>, req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) => Promise<unknown>;
}

/** A declared route of any shape, as the table holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Route = RouteSpec<any, any, any>;

/** Declares a route; the handler's input is typed from the schemas. */
export function route<P extends Part = undefined, Q extends Part = undefined, B extends Part = undefined>(spec: RouteSpec<P, Q, B>): Route {
  return spec as Route;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The declaration the route was registered from (absent for the console's static files). */
    route?: Route;
  }
}

/**
 * Registers declared routes in a scope. Each request's parts are validated with the declared
 * schemas (a failure is SW_ERR_BODY_INVALID naming the field) before the handler runs.
 */
export function mountRoutes(scope: FastifyInstance, routes: readonly Route[], ctx: RouteContext, prefix = ''): void {
  // Routes taking raw bytes parse them in a scope of their own: every other route stays JSON only.
  for (const r of routes) {
    if (r.rawBody === undefined) register(scope, r, ctx, prefix);
    else {
      scope.register(async (child) => {
        const limit = bodyLimitOf(r, ctx);
        child.addContentTypeParser([...r.rawBody!], { parseAs: 'buffer', ...(limit === undefined ? {} : { bodyLimit: limit }) }, (_req, body, done) => done(null, body));
        register(child, r, ctx, prefix);
      });
    }
  }
}

function bodyLimitOf(r: Route, ctx: RouteContext): number | undefined {
  return typeof r.bodyLimit === 'function' ? r.bodyLimit(ctx) : r.bodyLimit;
}

function register(scope: FastifyInstance, r: Route, ctx: RouteContext, prefix: string): void {
  const limit = bodyLimitOf(r, ctx);
  scope.route({
    method: r.method,
    url: r.url.slice(prefix.length),
    ...(limit === undefined ? {} : { bodyLimit: limit }),
    config: {
      route: r,
      allowUnits: r.access === 'units' || r.access === 'wall' || r.access === 'device',
      allowDisplay: r.access === 'wall',
      allowDepartments: r.departments === true,
      allowReporters: r.reporters === true,
      tokenInQuery: r.tokenInQuery === true,
    },
    handler: async (req, reply) => {
      const input = {
        params: r.params ? parse(r.params, req.params, 'params') : undefined,
        query: r.query ? parse(r.query, req.query, 'query') : undefined,
        body: r.body ? parse(r.body, req.body, 'body') : undefined,
      };
      return r.handler(input, req, reply, ctx);
    },
  });
}
