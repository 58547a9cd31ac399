import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLISHED_SCHEMAS, SCHEMAS_DIR, renderSchema } from './published.js';

describe('published JSON Schema files', () => {
  it.each(PUBLISHED_SCHEMAS.map((p) => [p.file, p] as const))('%s matches its zod schema (run `npm run schemas` after changing one)', (file, p) => {
    const committed = fs.existsSync(path.join(SCHEMAS_DIR, file)) ? fs.readFileSync(path.join(SCHEMAS_DIR, file), 'utf8') : '(missing)';
    expect(committed).toBe(renderSchema(p));
  });

  it('has no stale files', () => {
    const files = fs.readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json')).sort();
    expect(files).toEqual(PUBLISHED_SCHEMAS.map((p) => p.file).sort());
  });
});
