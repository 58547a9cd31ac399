/**
 * `npm run schemas`: writes the JSON Schema files of schemas/published.ts, the generated contract
 * documents of schemas/documents.ts (OpenAPI), and the generated tables of the device protocol.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEVICE_PROTOCOL_DOC, readDeviceProtocolDoc, renderDeviceProtocolDoc } from './doc-tables.js';
import { GENERATED_DOCUMENTS } from './documents.js';
import { PUBLISHED_SCHEMAS, SCHEMAS_DIR, renderSchema } from './published.js';

const wanted = new Set(PUBLISHED_SCHEMAS.map((p) => p.file));
for (const file of fs.readdirSync(SCHEMAS_DIR)) {
  if (file.endsWith('.schema.json') && !wanted.has(file)) {
    fs.rmSync(path.join(SCHEMAS_DIR, file));
    process.stdout.write(`removed ${file}\n`);
  }
}
for (const p of [...PUBLISHED_SCHEMAS.map((s) => ({ file: s.file, render: () => renderSchema(s) })), ...GENERATED_DOCUMENTS]) {
  const file = path.join(SCHEMAS_DIR, p.file);
  const text = p.render();
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (old === text) continue;
  fs.writeFileSync(file, text);
  process.stdout.write(`${old === undefined ? 'wrote' : 'updated'} ${p.file}\n`);
}

const doc = readDeviceProtocolDoc();
const updated = renderDeviceProtocolDoc(doc);
if (updated !== doc) {
  fs.writeFileSync(DEVICE_PROTOCOL_DOC, updated);
  process.stdout.write(`updated the tables of ${path.relative(process.cwd(), DEVICE_PROTOCOL_DOC)}\n`);
}
