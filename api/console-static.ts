/**
 * The web console: the built single-page app under `console/dist`, served without a token (it
 * holds no data; every API call it makes carries the operator's bearer token). Built by
 * `console/build.ts`, which `npm start` runs first.
 */
import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { REPO_ROOT } from '../core/config.js';

export const CONSOLE_DIST = path.join(REPO_ROOT, 'console', 'dist');

/**
 * Scripts and styles only from this origin, API calls only to it; images also from the tile
 * services of the base map in force, and `blob:` (report photos, fetched with the token and
 * shown from memory). Leaflet and uPlot style elements through the CSSOM, which CSP does not
 * restrict, so no 'unsafe-inline' is needed.
 */
export function consoleSecurityPolicy(tileOrigins: readonly string[]): string {
  const tiles = tileOrigins.map((o) => ` ${o}`).join('');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${tiles}`,
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** `tileOrigins` is asked per response: the city's base map may change while the server runs. */
export async function registerConsole(app: FastifyInstance, opts: { root?: string; tileOrigins: () => readonly string[] }): Promise<void> {
  const root = opts.root ?? CONSOLE_DIST;
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    // A production install without the build tools: the API works, the page says why there is no console.
    app.get('/', async (_req, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('StreetWatch: the web console is not built. Run `npm install` (with dev dependencies) and `npm run build:console`.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    // One route per built file, found at start-up: unknown paths reach the JSON 404 handler
    // without touching the file system.
    wildcard: false,
    index: ['index.html'],
    preCompressed: true,
    cacheControl: false,
    setHeaders: (res, file) => {
      // File names under assets/ carry a content hash; index.html must be revalidated.
      const hashed = path.relative(root, file).startsWith(`assets${path.sep}`);
      res.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      res.setHeader('content-security-policy', consoleSecurityPolicy(opts.tileOrigins()));
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
    },
  });
}
