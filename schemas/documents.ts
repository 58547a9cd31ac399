/**
 * The contract documents generated from the zod schemas and the route table: the OpenAPI 3.1
 * document of the HTTP API and the AsyncAPI 3.0 document of the MQTT and Kafka messages.
 * `npm run schemas` writes them next to this file; schemas.test.ts fails when a committed one no
 * longer matches what the code generates.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { apiDocument } from '../api/routes/index.js';
import { REPO_ROOT } from '../core/config.js';
import { asyncApiDocument } from './asyncapi.js';
import { renderJson, type GeneratedDocument } from './published.js';

const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

export const GENERATED_DOCUMENTS: readonly GeneratedDocument[] = [
  { file: 'openapi.json', render: () => renderJson(apiDocument()) },
  { file: 'asyncapi.json', render: () => renderJson(asyncApiDocument(version)) },
];
