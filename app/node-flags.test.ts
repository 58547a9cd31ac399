import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { PLATFORM_NODE_FLAGS } from './node-flags.js';

describe('the flags StreetWatch processes start with', () => {
  it('are on `npm start`, which the image and compose run', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${PLATFORM_NODE_FLAGS.join(' ')} --import tsx app/main.ts`);
  });
});
