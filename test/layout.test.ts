/**
 * The layering of ARCHITECTURE.md: data flows one way between stages, and what two stages share
 * (the ticket domain, zone selectors, payload parsing, secret hashing, store adapters) lives in
 * core/, so no stage imports another and core/ imports no stage. The composition root (app/),
 * cli/, bench/, test/, device-sim/ and flows/ (whose Node-RED library is built from detectors/
 * on purpose) are outside the rule.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAGES = ['broker', 'ingest', 'detectors', 'alerting', 'api', 'console'] as const;
/** Folders built on the stages: a stage reaches none of them (its tests may use test/ helpers). */
const ABOVE_STAGES = ['app', 'cli', 'device-sim', 'flows', 'bench'];
/** Top-level folders core/ must not reach into (its tests may use test/ and bench/ fixtures). */
const OUTSIDE_CORE = [...STAGES, ...ABOVE_STAGES, 'test'];
const SOURCE = /\.(ts|tsx|mts)$/;
const SKIP = new Set(['node_modules', 'dist']);

/** Relative module specifiers of static imports and re-exports, side-effect imports and dynamic imports. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)['"](\.{1,2}\/[^'"]+)['"]/gm;

interface ImportEdge {
  /** The importing file, relative to the repository root. */
  file: string;
  line: number;
  /** The imported module, relative to the repository root. */
  target: string;
}

/** The relative imports of one source file, resolved against the repository root. */
function relativeImports(file: string, source: string): ImportEdge[] {
  const out: ImportEdge[] = [];
  for (const m of source.matchAll(SPECIFIER)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!));
    out.push({ file, line: source.slice(0, m.index).split('\n').length, target });
  }
  return out;
}

const topFolder = (p: string): string => p.split('/')[0]!;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      if (SKIP.has(entry.name) || entry.name.startsWith('.')) continue;
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (SOURCE.test(entry.name)) out.push(child);
    }
  };
  walk(dir);
  return out;
}

function importsOf(dir: string): ImportEdge[] {
  return sourceFiles(dir).flatMap((f) => relativeImports(f, fs.readFileSync(path.join(ROOT, f), 'utf8')));
}

const describeEdge = (e: ImportEdge): string => `${e.file}:${e.line} imports ${e.target}`;

describe('layout', () => {
  it('finds every form of relative import, resolved from the importing file', () => {
    const source = [
      "import { a } from '../alerting/lifecycle.js';",
      "import type { B } from '../../core/schemas.js';",
      "export { c } from './c.js';",
      "import './side-effect.js';",
      "const d = await import('../ingest/decode.js');",
      "import { e } from 'zod';",
    ].join('\n');
    expect(relativeImports('api/routes/tickets.ts', source)).toEqual([
      { file: 'api/routes/tickets.ts', line: 1, target: 'api/alerting/lifecycle.js' },
      { file: 'api/routes/tickets.ts', line: 2, target: 'core/schemas.js' },
      { file: 'api/routes/tickets.ts', line: 3, target: 'api/routes/c.js' },
      { file: 'api/routes/tickets.ts', line: 4, target: 'api/routes/side-effect.js' },
      { file: 'api/routes/tickets.ts', line: 5, target: 'api/ingest/decode.js' },
    ]);
  });

  it.each(STAGES)('%s/ imports no other stage, and nothing built on the stages', (stage) => {
    const edges = importsOf(stage);
    // The scan reads real code: every stage imports core/ at least.
    expect(edges.some((e) => topFolder(e.target) === 'core')).toBe(true);
    const forbidden = [...STAGES.filter((s) => s !== stage), ...ABOVE_STAGES];
    const crossing = edges.filter((e) => forbidden.includes(topFolder(e.target)));
    expect(crossing.map(describeEdge)).toEqual([]);
  });

  it('core/ imports no stage and none of the folders built on it (tests aside)', () => {
    const edges = importsOf('core').filter((e) => !/\.test\.tsx?$/.test(e.file));
    expect(edges.length).toBeGreaterThan(0);
    const outward = edges.filter((e) => OUTSIDE_CORE.includes(topFolder(e.target)));
    expect(outward.map(describeEdge)).toEqual([]);
  });
});
