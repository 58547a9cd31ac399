import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../core/config.js';

/**
 * V8 flags every StreetWatch process starts with: `npm start` (package.json, which the Dockerfile
 * and compose run), the tests' and the benchmark's own platform processes. V8 reads them once,
 * when the heap is set up, so a running process cannot set them for itself.
 *
 * `--max-semi-space-size=64` (MiB, default 16): the young generation, where a reading's objects
 * live and, mostly, die. A consumer batch holds up to a thousand publishes' objects until its
 * commit, long enough to outlive a scavenge of a 16 MiB semi-space, so they were copied and
 * promoted, and the old generation paid to collect them again. At 1,000 devices the collector
 * took 20.8% of the main thread with 16 MiB, 17.5% with 32 and 10.2% with 64
 * (`node --max-semi-space-size=N --import ./app/ts-loader.mjs bench/pipeline.ts --devices 1000 --cpu-prof ...`),
 * for about 100-190 MiB more resident memory at that load.
 */
export const PLATFORM_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * How a platform process runs its TypeScript: `node --import ./app/ts-loader.mjs` (see
 * app/ts-hooks.mjs; tsx, which the tools use, compiles with `keepNames`, a cost per closure).
 */
export const PLATFORM_LOADER = './app/ts-loader.mjs';

/** The arguments of `node` that start `script` (a path) as a platform process does. */
export function platformNodeArgs(script: string): string[] {
  return [...PLATFORM_NODE_FLAGS, '--import', pathToFileURL(path.join(REPO_ROOT, PLATFORM_LOADER)).href, script];
}
