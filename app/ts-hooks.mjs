/**
 * Module hooks that run the platform's TypeScript as it is, compiled file by file with esbuild
 * when first imported (registered by app/ts-loader.mjs).
 *
 * tsx does the same for the tools and scripts, but compiles with `keepNames`, which wraps every
 * named function and class in a call that sets its name again each time it is created: a cost
 * on every closure made per publish (`pipe.ts` from sources compiled without it: 18.6 → 17.7
 * CPU-µs per reading, docs/BENCHMARKS.md). Without bundling or minifying, esbuild keeps the names
 * as written anyway.
 *
 * Imports are written as the compiled JavaScript's (`./bus.js`); where no such file exists, the
 * TypeScript source beside it (`./bus.ts`) is loaded.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

/** The project's compiler options, as tsx passes them: esbuild takes what concerns one file (target, class fields, imports). */
const TSCONFIG = { compilerOptions: JSON.parse(readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8')).compilerOptions };

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const fromSource = context.parentURL?.endsWith('.ts') && specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:'));
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !fromSource) throw err;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const source = await readFile(file, 'utf8');
  const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', sourcefile: file, tsconfigRaw: TSCONFIG });
  return { format: 'module', source: code, shortCircuit: true };
}
