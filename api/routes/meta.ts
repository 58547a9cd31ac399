import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Health, OpenApiDocument, Readiness, TextBody } from '../../core/api-schemas.js';
import { OPENAPI_PATH } from '../openapi.js';
import { route, type Route } from '../route-table.js';

const REFERENCE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'reference');

/** The reference page's files, read once: they ship with the code. */
const referenceFile = (() => {
  const cache = new Map<string, Buffer>();
  return (name: string): Buffer => {
    let body = cache.get(name);
    if (!body) cache.set(name, (body = fs.readFileSync(path.join(REFERENCE_DIR, name))));
    return body;
  };
})();

/** The page loads only its own script, style and the document: nothing from elsewhere. */
const REFERENCE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const REFERENCE_FILES: readonly [string, string, string][] = [
  ['/api/docs', 'index.html', 'text/html; charset=utf-8'],
  ['/api/docs/reference.js', 'reference.js', 'text/javascript; charset=utf-8'],
  ['/api/docs/reference.css', 'reference.css', 'text/css; charset=utf-8'],
];

/** Health probes, metrics, and the API's own description. */
export const metaRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/healthz',
    operationId: 'health',
    summary: 'Liveness: the process answers',
    tag: 'operations',
    access: 'public',
    responses: { 200: { description: 'Alive', schema: Health } },
    handler: async () => ({ status: 'ok' }),
  }),
  route({
    method: 'GET',
    url: '/readyz',
    operationId: 'ready',
    summary: "Readiness: the process's stages run and its services are reachable",
    description: 'Also lists `warnings` that need an operator without making the process unready: free disk space under STREETWATCH_DISK_WARN.',
    tag: 'operations',
    access: 'public',
    responses: { 200: { description: 'Ready', schema: Readiness }, 503: { description: 'Not ready: the failing checks are false', schema: Readiness } },
    handler: async (_input, _req, reply, { ready, warnings }) => {
      const checks = ready();
      const ok = Object.values(checks).every(Boolean);
      // A warning (free disk running low) needs an operator, but the process still works.
      const notes = warnings?.() ?? [];
      return reply.status(ok ? 200 : 503).send({ ready: ok, checks, ...(notes.length > 0 ? { warnings: notes } : {}) });
    },
  }),
  route({
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics (text exposition format)',
    tag: 'operations',
    access: 'admin',
    responses: { 200: { description: 'The exposition', schema: TextBody, contentType: 'text/plain' } },
    handler: async (_input, _req, reply, { metrics }) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  }),
  route({
    method: 'GET',
    url: OPENAPI_PATH,
    operationId: 'openapi',
    summary: 'This document (OpenAPI 3.1)',
    tag: 'operations',
    access: 'public',
    responses: { 200: { description: 'The OpenAPI document', schema: OpenApiDocument } },
    handler: async (_input, _req, _reply, { document }) => document(),
  }),
  ...REFERENCE_FILES.map(([url, file, type], i) =>
    route({
      method: 'GET',
      url,
      operationId: ['apiReference', 'apiReferenceScript', 'apiReferenceStyle'][i]!,
      summary: i === 0 ? 'The API reference page, rendered from this document, offline' : `The API reference page's ${file}`,
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: file, schema: TextBody, contentType: type.split(';')[0]! } },
      handler: async (_input, _req, reply) => reply.header('content-type', type).header('content-security-policy', REFERENCE_POLICY).header('x-content-type-options', 'nosniff').send(referenceFile(file)),
    }),
  ),
];
