/**
 * Builds the nodes' library: flows/src (and the platform code it imports) bundled by esbuild
 * into one CommonJS file, lib/streetwatch.cjs, that any Node-RED 4 on Node 18+ can require. mqtt
 * and zod stay outside (dependencies of the package: zod's locales alone would be 750 KiB of
 * the bundle); the small geometry modules go in, flatbush among them because it is ESM-only.
 * Written to a temporary file and renamed, so concurrent builds (parallel test files) never
 * expose a half-written library.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const FLOWS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const LIBRARY_FILE = path.join(FLOWS_DIR, 'lib', 'streetwatch.cjs');

export async function buildLibrary(outfile = LIBRARY_FILE): Promise<{ file: string; bytes: number }> {
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const tmp = `${outfile}.${process.pid}.${Date.now()}.tmp`;
  await build({
    entryPoints: [path.join(FLOWS_DIR, 'src', 'index.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['mqtt', 'zod'],
    legalComments: 'eof',
    logLevel: 'warning',
  });
  fs.renameSync(tmp, outfile);
  return { file: outfile, bytes: fs.statSync(outfile).size };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { file, bytes } = await buildLibrary();
  process.stdout.write(`${path.relative(process.cwd(), file)}: ${(bytes / 1024).toFixed(0)} KiB\n`);
}
