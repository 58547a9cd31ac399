/**
 * Every route of the HTTP API, in one table: the server registers them from it and the OpenAPI
 * document is generated from it. A new group of routes is a module exporting `Route[]`, listed
 * here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config.js';
import { openApiDocument } from '../openapi.js';
import type { Route } from '../route-table.js';
import { capRoutes } from './cap.js';
import { cityRoutes } from './city.js';
import { consoleRoutes } from './console.js';
import { deviceErrorRoutes } from './device-errors.js';
import { deviceRoutes } from './devices.js';
import { ingestTokenRoutes } from './ingest-tokens.js';
import { ingestRoutes } from './ingest.js';
import { kpiRoutes } from './kpis.js';
import { metaRoutes } from './meta.js';
import { open311Routes } from './open311.js';
import { parkedRoutes } from './parked.js';
import { readingRoutes } from './readings.js';
import { storageRoutes } from './storage.js';
import { streamRoutes } from './stream.js';
import { supervisionRoutes } from './supervision.js';
import { ticketRoutes } from './tickets.js';
import { tokenRoutes } from './tokens.js';
import { decisionRoutes } from './decisions.js';
import { extensionRoutes } from './extensions.js';
import { jointRoutes } from './joint.js';
import { reportRoutes } from './reports.js';
import { returnRoutes } from './returns.js';

/** The routes in the server's main scope (bearer tokens, catalogued JSON errors, or public). */
export const API_ROUTES: readonly Route[] = [
  ...metaRoutes,
  ...deviceRoutes,
  ...readingRoutes,
  ...deviceErrorRoutes,
  ...ticketRoutes,
  ...jointRoutes,
  ...returnRoutes,
  ...extensionRoutes,
  ...decisionRoutes,
  ...reportRoutes,
  ...supervisionRoutes,
  ...kpiRoutes,
  ...streamRoutes,
  ...tokenRoutes,
  ...ingestTokenRoutes,
  ...ingestRoutes,
  ...cityRoutes,
  ...consoleRoutes,
  ...capRoutes,
  ...parkedRoutes,
  ...storageRoutes,
];

/** Every documented route, Open311's (its own scope and error format) included. */
export const ALL_ROUTES: readonly Route[] = [...API_ROUTES, ...open311Routes];

const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

/** The OpenAPI document of every route. */
export function apiDocument(): Record<string, unknown> {
  return openApiDocument(ALL_ROUTES, { version });
}
