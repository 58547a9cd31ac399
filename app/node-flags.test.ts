import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { PLATFORM_LOADER, PLATFORM_NODE_FLAGS, platformNodeArgs } from './node-flags.js';

describe('the flags StreetWatch processes start with', () => {
  it('are on `npm start`, which the image and compose run', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${PLATFORM_NODE_FLAGS.join(' ')} --import ${PLATFORM_LOADER} app/main.ts`);
  });

  it('run TypeScript as written: imports of the compiled name, no renaming wrappers, stacks that point at the source', async () => {
    const fixture = path.join(REPO_ROOT, 'test', 'fixtures', 'loader');
    const { stdout } = await promisify(execFile)(process.execPath, platformNodeArgs(path.join(fixture, 'main.ts')), { cwd: REPO_ROOT });
    const out = JSON.parse(stdout) as { said: string; name: string; source: string; stack: string };
    expect(out.said).toBe('hello loader');
    expect(out.name).toBe('greet');
    // tsx compiles with keepNames: each named closure is wrapped in a call that names it again.
    expect(out.source).not.toMatch(/__name/);
    expect(out.stack).toContain(`${path.join(fixture, 'helper.ts')}:11:`);
  });
});
