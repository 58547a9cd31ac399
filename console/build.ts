/**
 * Builds the web console into `console/dist` when its inputs changed: `npm start` runs it
 * first (a fresh clone needs nothing more than `npm install && npm start`), and so does the
 * console's end-to-end test. The build type-checks the console, bundles it with Vite and writes
 * gzip and brotli copies next to each asset for the server to send as they are.
 *
 * `tsx console/build.ts` builds if stale; `--force` always builds.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const CONSOLE_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.dirname(CONSOLE_DIR);
export const CONSOLE_DIST = path.join(CONSOLE_DIR, 'dist');
/** Where a build records the files it was made from, with their hashes. */
const INPUTS_FILE = path.join(CONSOLE_DIST, '.inputs.json');
/** Inputs besides the bundled modules: the toolchain's configuration and the locked dependencies. */
const FIXED_INPUTS = ['console/index.html', 'console/vite.config.ts', 'console/tsconfig.json', 'console/build.ts', 'package-lock.json'];
/** Text assets worth sending compressed. */
const COMPRESSIBLE = /\.(js|css|html|svg|json)$/;
/** Smaller files are sent as they are. */
const MIN_COMPRESS_BYTES = 1024;
/** Held while a build runs: test files run in parallel and each makes sure the console is built. */
const LOCK_FILE = path.join(CONSOLE_DIR, '.build.lock');
/** How long a build may wait for another process's build. */
const LOCK_WAIT_MS = 10 * 60_000;

export interface ConsoleBuild {
  /** False when the existing build was up to date, or when the build tools are not installed. */
  built: boolean;
  /** Why nothing was built, when nothing was. */
  skipped?: string;
  /** Total gzipped bytes of the JS, CSS and HTML the browser loads. */
  gzipBytes?: number;
}

export async function buildConsole(opts: { force?: boolean } = {}): Promise<ConsoleBuild> {
  if (!opts.force && isFresh()) return { built: false, skipped: 'up to date' };
  return withLock(async () => {
    // Another process may have built it while this one waited.
    if (!opts.force && isFresh()) return { built: false, skipped: 'up to date' };
    return build();
  });
}

/** Runs `fn` holding the build lock; a lock left by a process that died is taken over. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const end = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let text = '';
      try {
        text = fs.readFileSync(LOCK_FILE, 'utf8').trim();
      } catch {
        continue; // released meanwhile
      }
      // Empty: its holder created it and is writing its pid.
      const holder = Number(text);
      if (text !== '' && !alive(holder)) fs.rmSync(LOCK_FILE, { force: true });
      else if (Date.now() > end) throw new Error(`console: another build (pid ${holder}) holds ${LOCK_FILE}`);
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_FILE, { force: true });
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function build(): Promise<ConsoleBuild> {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    // A production install (dev dependencies omitted): serve whatever build exists, if any.
    return { built: false, skipped: 'vite is not installed (dev dependencies omitted)' };
  }
  typecheck();
  const inputs = new Set<string>(FIXED_INPUTS);
  await vite.build({
    configFile: path.join(CONSOLE_DIR, 'vite.config.ts'),
    logLevel: 'warn',
    plugins: [
      {
        name: 'streetwatch-record-inputs',
        generateBundle() {
          for (const id of this.getModuleIds()) {
            if (id.startsWith('\0') || id.includes(`${path.sep}node_modules${path.sep}`)) continue;
            const file = id.split('?')[0]!;
            if (fs.existsSync(file)) inputs.add(path.relative(REPO_ROOT, file));
          }
        },
      },
    ],
  });
  const gzipBytes = compressAssets(CONSOLE_DIST);
  const hashes = Object.fromEntries([...inputs].sort().map((f) => [f, hashFile(f)]));
  fs.writeFileSync(INPUTS_FILE, `${JSON.stringify({ files: hashes }, null, 1)}\n`);
  return { built: true, gzipBytes };
}

function isFresh(): boolean {
  let recorded: { files: Record<string, string | null> };
  try {
    recorded = JSON.parse(fs.readFileSync(INPUTS_FILE, 'utf8'));
  } catch {
    return false;
  }
  if (!fs.existsSync(path.join(CONSOLE_DIST, 'index.html'))) return false;
  return Object.entries(recorded.files).every(([f, hash]) => hashFile(f) === hash);
}

function hashFile(relative: string): string | null {
  try {
    return createHash('sha256').update(fs.readFileSync(path.join(REPO_ROOT, relative))).digest('hex');
  } catch {
    return null;
  }
}

/** Vite strips types without checking them; the console's own tsconfig (DOM, JSX) does. */
function typecheck(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(CONSOLE_DIR, 'tsconfig.json')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`console: type errors\n${r.stdout}${r.stderr}`);
}

/** Writes `.gz` and `.br` beside each text asset; returns the gzipped size of what a browser loads. */
function compressAssets(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !COMPRESSIBLE.test(entry.name)) continue;
    const file = path.join(entry.parentPath, entry.name);
    const raw = fs.readFileSync(file);
    const gz = zlib.gzipSync(raw, { level: 9 });
    total += gz.length;
    if (raw.length < MIN_COMPRESS_BYTES) continue;
    fs.writeFileSync(`${file}.gz`, gz);
    fs.writeFileSync(`${file}.br`, zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
  }
  return total;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const t0 = performance.now();
  const result = await buildConsole({ force: process.argv.includes('--force') });
  if (result.built) {
    const kb = (result.gzipBytes! / 1024).toFixed(1);
    process.stdout.write(`console: built in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${kb} KB gzipped\n`);
  } else if (result.skipped !== 'up to date') {
    process.stdout.write(`console: not built: ${result.skipped}\n`);
  }
}
