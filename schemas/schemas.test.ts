import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MqttReason, errorCodes, errorSpec } from '../core/errors.js';
import { DEVICE_ERRORS, readDeviceProtocolDoc, renderDeviceProtocolDoc } from './doc-tables.js';
import { GENERATED_DOCUMENTS } from './documents.js';
import { PUBLISHED_SCHEMAS, SCHEMAS_DIR, renderSchema } from './published.js';

describe('published JSON Schema files', () => {
  it.each(PUBLISHED_SCHEMAS.map((p) => [p.file, p] as const))('%s matches its zod schema (run `npm run schemas` after changing one)', (file, p) => {
    const committed = fs.existsSync(path.join(SCHEMAS_DIR, file)) ? fs.readFileSync(path.join(SCHEMAS_DIR, file), 'utf8') : '(missing)';
    expect(committed).toBe(renderSchema(p));
  });

  it.each(GENERATED_DOCUMENTS.map((d) => [d.file, d] as const))('%s is what the code generates (run `npm run schemas` after changing a route or a schema)', (file, d) => {
    const committed = fs.existsSync(path.join(SCHEMAS_DIR, file)) ? fs.readFileSync(path.join(SCHEMAS_DIR, file), 'utf8') : '(missing)';
    expect(committed).toBe(d.render());
  });

  it('has no stale files', () => {
    const files = fs.readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json')).sort();
    expect(files).toEqual(PUBLISHED_SCHEMAS.map((p) => p.file).sort());
  });

  it('docs/DEVICE-PROTOCOL.md has the current tables of metrics, SenML names and error codes', () => {
    const doc = readDeviceProtocolDoc();
    expect(doc).toBe(renderDeviceProtocolDoc(doc));
  });

  it('documents every device-facing error code that exists', () => {
    for (const code of DEVICE_ERRORS.keys()) expect(errorCodes).toContain(code);
    // Every refusal of a payload or a topic is one a device meets on its errors topic.
    const deviceCodes = errorCodes.filter((c) => errorSpec(c).mqtt === MqttReason.PAYLOAD_FORMAT_INVALID || errorSpec(c).mqtt === MqttReason.TOPIC_NAME_INVALID);
    for (const code of deviceCodes) expect(DEVICE_ERRORS.has(code), code).toBe(true);
  });
});
