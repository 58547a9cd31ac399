/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table: paths, parameters
 * and bodies from the routes' zod schemas (as a sender may send them), answers from their
 * response schemas (as the server sends them), the coded errors each route may answer, and the
 * credentials it takes. Served at `/api/openapi.json`; `npm run schemas` writes the same
 * document to schemas/openapi.json.
 */
import { z } from 'zod';
import * as apiSchemas from '../core/api-schemas.js';
import { errorSpec, type ErrorCode } from '../core/errors.js';
import * as coreSchemas from '../core/schemas.js';
import type { Route, RouteResponse } from './route-table.js';

type Json = Record<string, unknown>;

export const OPENAPI_PATH = '/api/openapi.json';

/** Errors every route may answer, by what it takes and who may call it. */
export function commonErrors(r: Route): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (r.access !== 'public') codes.push('SW_ERR_UNAUTHORIZED', 'SW_ERR_RATE_LIMITED');
  if (r.access === 'admin' || r.access === 'units' || r.access === 'wall' || r.access === 'device' || r.access === 'ingest') codes.push('SW_ERR_FORBIDDEN');
  if (r.access === 'device') codes.push('SW_ERR_BAD_CREDENTIALS');
  if (r.params || r.query || r.body) codes.push('SW_ERR_BODY_INVALID');
  if (r.body || r.rawBody) codes.push('SW_ERR_BODY_TOO_LARGE', 'SW_ERR_MEDIA_TYPE');
  codes.push('SW_ERR_INTERNAL');
  return codes;
}

/** A route's path in OpenAPI's template syntax: `:id` → `{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/** The exported name of each schema of the contract modules, for component names. */
function schemaNames(): Map<z.ZodType, string> {
  const names = new Map<z.ZodType, string>();
  for (const mod of [coreSchemas, apiSchemas]) {
    for (const [name, value] of Object.entries(mod)) if (value instanceof z.ZodType && !names.has(value)) names.set(value, name);
  }
  return names;
}

/**
 * Component schemas of one direction: request bodies as a sender may send them (`input`),
 * answers as the server sends them (`output`). Named schemas nested in others are shared by
 * reference.
 */
class Components {
  readonly registry = z.registry<{ id: string }>();
  private readonly ids = new Map<z.ZodType, string>();

  constructor(
    private readonly io: 'input' | 'output',
    private readonly names: Map<z.ZodType, string>,
    shared: readonly z.ZodType[] = [],
  ) {
    for (const s of shared) this.ref(s, '');
  }

  /** A `$ref` to the schema, registered under its exported name or `fallback`. */
  ref(schema: z.ZodType, fallback: string): Json {
    let id = this.ids.get(schema);
    if (id === undefined) {
      id = this.names.get(schema) ?? fallback;
      if ([...this.ids.values()].includes(id)) throw new Error(`two schemas are named ${id} in the OpenAPI document`);
      this.ids.set(schema, id);
      this.registry.add(schema, { id });
    }
    return { $ref: `#/components/schemas/${id}` };
  }

  render(): Record<string, Json> {
    const out = z.toJSONSchema(this.registry, { io: this.io, target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Json> };
    const schemas: Record<string, Json> = {};
    for (const [id, s] of Object.entries(out.schemas)) {
      const { $schema: _drop, $id: _id, ...rest } = s;
      schemas[id] = sameTypeTuples(rest) as Json;
    }
    return schemas;
  }
}

/**
 * `[number, number]` as an array of two numbers (`items` with a length) rather than
 * `prefixItems`: the same constraint, and one that older JSON Schema tooling (schemathesis's
 * generator among them) reads.
 */
function sameTypeTuples(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(sameTypeTuples);
  if (!node || typeof node !== 'object') return node;
  const o = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, sameTypeTuples(v)])) as Json;
  const prefix = o.prefixItems;
  if (Array.isArray(prefix) && prefix.length > 0 && o.items === false && prefix.every((p) => JSON.stringify(p) === JSON.stringify(prefix[0]))) {
    const { prefixItems: _p, ...rest } = o;
    return { ...rest, items: prefix[0], minItems: prefix.length, maxItems: prefix.length };
  }
  return o;
}

/** Path or query parameters: one per property of the part's object schema. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: where, required: where === 'path' || (json.required ?? []).includes(name), ...(typeof description === 'string' ? { description } : {}), schema: rest };
  });
}

/** The coded error body with `code` narrowed to the codes of one status. */
function apiErrorSchema(codes: readonly ErrorCode[]): Json {
  return {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string', enum: [...codes] }, message: { type: 'string' }, details: {} },
      },
    },
  };
}

/** GeoReport v2's error list, in JSON; the XML form has the same fields under `<errors>`. */
const OPEN311_ERRORS: Json = {
  type: 'array',
  items: { type: 'object', required: ['code', 'description'], properties: { code: { type: 'integer' }, description: { type: 'string' } } },
};

/** The status an Open311 route answers for a catalogued error (the spec's 400/403/404). */
export function open311Status(code: ErrorCode): number {
  const { status } = errorSpec(code);
  if (code === 'SW_ERR_UNAUTHORIZED' || status === 403) return 403;
  return status === 404 || status === 429 || status >= 500 ? status : 400;
}

function errorResponses(r: Route): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...commonErrors(r), ...(r.errors ?? [])])) {
    const status = r.access === 'api_key' || r.url.startsWith('/open311/') ? open311Status(code) : errorSpec(code).status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const description = codes.join(', ');
    if (r.url.startsWith('/open311/')) {
      out[String(status)] = { description, content: { 'application/json': { schema: OPEN311_ERRORS }, 'text/xml': { schema: { type: 'string' } } } };
    } else {
      out[String(status)] = {
        description,
        ...(codes.includes('SW_ERR_RATE_LIMITED') ? { headers: { 'Retry-After': { description: 'Seconds until the address (failed logins) or the token (writes) may try again', schema: { type: 'integer' } } } } : {}),
        content: { 'application/json': { schema: apiErrorSchema(codes) } },
      };
    }
  }
  return out;
}

function successResponse(r: Route, status: number, res: RouteResponse, out: Components): Json {
  if (!res.schema) return { description: res.description };
  const content: Json = { [res.contentType ?? 'application/json']: { schema: out.ref(res.schema, `${r.operationId}${status}`) } };
  for (const [type, schema] of Object.entries(res.also ?? {})) content[type] = { schema: out.ref(schema, `${r.operationId}${status}Text`) };
  return { description: res.description, content };
}

function security(r: Route): Json[] {
  switch (r.access) {
    case 'public':
      return [];
    case 'api_key':
      return [{ open311ApiKey: [] }, { bearer: [] }];
    case 'device':
      return [{ bearer: [] }, { deviceBasic: [] }];
    case 'ingest':
      return [{ ingestToken: [] }];
    default:
      return [{ bearer: [] }];
  }
}

const ACCESS_NOTE: Readonly<Record<Route['access'], string>> = {
  public: 'No credential.',
  admin: 'The admin token only.',
  units: "The admin token, or a unit's token: a unit sees only what is its own (others' records are 404).",
  wall: "The admin token, a unit's token, or a display token (a wall screen's, read-only): a unit's or a sub-center's display sees only what is its own, the district center's display the whole city.",
  device: "The admin token, a unit's token (a unit reads the devices in the jurisdictions it holds or supervises), or the device itself: HTTP Basic with its id and secret.",
  api_key: "A unit's token as `api_key` (or as a bearer token): a unit reads only its own requests.",
  ingest: "The ingest token of a department's system (`swi_...`, from POST /api/ingest-tokens): it sends for the system's device and the devices provisioned with it as their gateway. Admin and unit tokens are refused (403).",
};

const DEPARTMENTS_NOTE = "A department's token too: it sees only the tickets it leads or co-handles (others' are 404).";
const REPORTERS_NOTE = 'A reporter key too (a citizens\' app, a 12345 system): it reads only the reports it filed.';

export interface OpenApiInfo {
  version: string;
}

export function openApiDocument(routes: readonly Route[], info: OpenApiInfo): Json {
  const names = schemaNames();
  const input = new Components('input', names);
  // Shared by reference wherever they appear in answers.
  const output = new Components('output', names, [coreSchemas.Ticket, coreSchemas.SupervisionOrder, coreSchemas.DeviceView, coreSchemas.Location]);
  const paths: Record<string, Record<string, Json>> = {};
  const seen = new Set<string>();
  for (const r of routes) {
    if (seen.has(r.operationId)) throw new Error(`operationId ${r.operationId} is used twice`);
    seen.add(r.operationId);
    const responses: Record<string, Json> = {};
    for (const [status, res] of Object.entries(r.responses)) responses[status] = successResponse(r, Number(status), res, output);
    Object.assign(responses, errorResponses(r));
    const op: Json = {
      operationId: r.operationId,
      summary: r.summary,
      description: [r.description, ACCESS_NOTE[r.access], r.departments ? DEPARTMENTS_NOTE : undefined, r.reporters ? REPORTERS_NOTE : undefined].filter(Boolean).join('\n\n'),
      tags: [r.tag],
      security: security(r),
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      // A body whose every field is optional may be left out (the server reads none as `{}`).
      ...(r.body ? { requestBody: { required: !r.body.safeParse({}).success, content: { 'application/json': { schema: input.ref(r.body, `${r.operationId}Body`) } } } } : {}),
      ...(r.rawBody ? { requestBody: { required: true, content: Object.fromEntries(r.rawBody.map((t) => [t, { schema: { type: 'string', contentMediaType: t } }])) } } : {}),
      responses,
    };
    (paths[openApiPath(r.url)] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'StreetWatch HTTP API',
      version: info.version,
      description:
        'Devices, tickets, supervision orders, KPIs, the city, and Open311 GeoReport v2, for the admin and the units (street sub-centers and the district command center). Every refusal is a catalogued error; its code is stable. Generated from the zod schemas of the server.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The admin token, or a token from POST /api/tokens: a unit token (`swu_...`), a display token (`swd_...`), a department token (`swdep_...`) or a reporter key (`swrep_...`).' },
        open311ApiKey: { type: 'apiKey', in: 'query', name: 'api_key', description: 'Open311 GeoReport v2: a unit token, a department token or a reporter key as `api_key`.' },
        deviceBasic: { type: 'http', scheme: 'basic', description: "A device's own credentials: its id as user name, its secret as password (what it connects to MQTT with)." },
        ingestToken: { type: 'http', scheme: 'bearer', description: "A department system's ingest token (`swi_...`) from POST /api/ingest-tokens." },
      },
      // Bodies and answers share names only where they are the same schema in the same direction.
      schemas: { ...output.render(), ...prefixed(input.render(), output) },
    },
  };
}

/** Input components whose name an output component already has. */
function prefixed(schemas: Record<string, Json>, output: Components): Record<string, Json> {
  const taken = new Set(Object.keys(output.render()));
  for (const id of Object.keys(schemas)) if (taken.has(id)) throw new Error(`component ${id} is both a body and an answer schema`);
  return schemas;
}
