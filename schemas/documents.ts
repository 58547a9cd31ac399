/**
 * The contract documents generated from the zod schemas and the route table: the OpenAPI 3.1
 * document of the HTTP API. `npm run schemas` writes them next to this file; schemas.test.ts
 * fails when a committed one no longer matches what the code generates.
 */
import { apiDocument } from '../api/routes/index.js';
import { renderJson, type GeneratedDocument } from './published.js';

export const GENERATED_DOCUMENTS: readonly GeneratedDocument[] = [{ file: 'openapi.json', render: () => renderJson(apiDocument()) }];
