/**
 * `npm run bench:store`: how much the embedded time-series store takes per day at a district's
 * load, and how responsive it stays while the retention job prunes it.
 *
 * It writes `--hours` of readings straight into a SQLite series store in a directory of its own,
 * as ingest would at the district load (10,000 sensors reporting once a minute, three metrics
 * each: 500 readings/s), in transactions of one bus batch each, with the fields ingest stores
 * (unit, place, zones, sub-center, arrival time, the publish id). Each hour of data it folds the
 * readings into the roll-ups, as the retention job does, and notes the file sizes. Then:
 * - bytes per row of each resolution (SQLite's dbstat, tables with their indexes), and from them
 *   the store at the default retention (30 days raw, 90 days of 5-minute steps, 5 years hourly);
 * - a prune of the oldest hour of raw readings by the retention job's own loop (the event loop
 *   free between steps) while a writer keeps storing 500 readings/s in batches every 100 ms: the
 *   longest event-loop stall and the slowest write during the prune. With `--steps 2000,500` the
 *   hour is cut into as many slices, each pruned with steps of one size, side by side in one run.
 *
 * Results go to bench/results/<UTC start>-store.{md,json} with the machine and load average.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import { DEFAULT_MAINTENANCE_BATCH, REPO_ROOT } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { MemoryKeyValueStore } from '../core/store/memory-kv.js';
import { Maintenance } from '../core/retention/maintenance.js';
import type { Reading } from '../core/schemas.js';
import { SqliteSeriesStore } from '../core/store/sqlite/series.js';
import { describeMachine, loadAverage } from './machine.js';

const MiB = 2 ** 20;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const METRICS = [
  { metric: 'water_level', unit: 'm', value: (s: number, m: number) => 0.05 + ((s * 7 + m) % 40) / 100 },
  { metric: 'rainfall', unit: 'mm/h', value: (s: number, m: number) => ((s + m) % 23) * 1.5 },
  { metric: 'battery_v', unit: 'V', value: (s: number, m: number) => 3.3 + ((s + m) % 10) / 100 },
];
const ZONES = ['liede-tunnel', 'zhujiang-riverbank', 'tianhe-school-3', 'huangpu-market', 'linhe-underpass'];
const SUBCENTERS = ['linhe', 'shipai', 'liede', 'tianhenan', 'xiancun', 'yuancun'];

const program = new Command('bench-store')
  .description('Store size per day at a district load, and the prune stall')
  .option('--sensors <n>', 'sensors reporting once a minute', (v) => Number(v), 10_000)
  .option('--metrics <n>', 'readings per report (1-3)', (v) => Number(v), 3)
  .option('--hours <n>', 'hours of readings to write', (v) => Number(v), 24)
  .option('--batch <n>', 'readings per write transaction (one bus batch)', (v) => Number(v), 3_000)
  .option('--steps <list>', 'rows per step of the retention job, one prune per size (comma-separated)', (v) => v.split(',').map(Number), [DEFAULT_MAINTENANCE_BATCH])
  .option('--dir <dir>', 'where the store goes (default: a new temporary directory, removed after)')
  .option('--out <dir>', 'where the results go', path.join(REPO_ROOT, 'bench', 'results'));
const opts = program.parse().opts<{ sensors: number; metrics: number; hours: number; batch: number; steps: number[]; dir?: string; out: string }>();

const started = new Date();
const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sw-bench-store-'));
const store = new SqliteSeriesStore(dir);
const file = path.join(dir, 'readings.db');
const bytes = (): number => [file, `${file}-wal`].reduce((n, f) => n + (fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
const metrics = METRICS.slice(0, Math.max(1, Math.min(3, opts.metrics)));
const t0 = Date.UTC(2026, 0, 1);
const log = (line: string): void => void process.stdout.write(`${line}\n`);
log(`writing ${opts.hours} h of ${opts.sensors} sensors × ${metrics.length} metrics once a minute (${((opts.sensors * metrics.length) / 60).toFixed(0)} readings/s) into ${dir}; load average ${loadAverage().join(' ')}`);

/** One minute of the district: every sensor's report, in its second of the minute. */
function minute(m: number): Reading[] {
  const out: Reading[] = [];
  for (let s = 0; s < opts.sensors; s++) {
    const ts = t0 + m * 60_000 + ((s * 6) % 60_000);
    const ref = randomUUID();
    const zones = s % 10 < 2 ? [ZONES[s % ZONES.length]!] : [];
    for (const x of metrics) {
      out.push({
        deviceId: `wl-${String(s).padStart(5, '0')}`,
        metric: x.metric,
        value: x.value(s, m),
        unit: x.unit,
        ts,
        receivedAt: ts + 40 + (s % 200),
        loc: { lat: 23.1 + (s % 100) / 1000, lon: 113.3 + Math.floor(s / 100) / 1000 },
        zoneIds: zones,
        subcenterId: SUBCENTERS[s % SUBCENTERS.length]!,
        ref,
      });
    }
  }
  return out;
}

const hourly: { hour: number; fileMiB: number; writeSeconds: number; readingsPerSecond: number; foldSeconds: number; longestFoldStepMs: number; load: number }[] = [];
let written = 0;
for (let h = 0; h < opts.hours; h++) {
  const w0 = performance.now();
  for (let m = h * 60; m < (h + 1) * 60; m++) {
    const rows = minute(m);
    for (let i = 0; i < rows.length; i += opts.batch) await store.write(rows.slice(i, i + opts.batch));
    written += rows.length;
  }
  const writeSeconds = (performance.now() - w0) / 1000;
  const f0 = performance.now();
  let longest = 0;
  for (;;) {
    const s0 = performance.now();
    const n = await store.rollUp(t0 + (h + 1) * HOUR, opts.steps[0]!);
    longest = Math.max(longest, performance.now() - s0);
    if (n === 0) break;
  }
  const foldSeconds = (performance.now() - f0) / 1000;
  const perHour = (opts.sensors * metrics.length * 60) / writeSeconds;
  hourly.push({ hour: h + 1, fileMiB: bytes() / MiB, writeSeconds, readingsPerSecond: perHour, foldSeconds, longestFoldStepMs: longest, load: loadAverage()[0] });
  log(`  hour ${h + 1}: ${(bytes() / MiB).toFixed(0)} MiB, written at ${perHour.toFixed(0)} readings/s, folded in ${foldSeconds.toFixed(1)} s (longest step ${longest.toFixed(1)} ms), load ${loadAverage()[0]}`);
}
await store.close();

// Sizes with the log folded back into the file: what the data takes, table by table.
const db = new Database(file);
db.pragma('wal_checkpoint(TRUNCATE)');
const tables = db.prepare<[], { name: string; bytes: number }>('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all();
const tierOf = (name: string): 'raw' | '5m' | '1h' | 'other' => (name.startsWith('readings_5m') ? '5m' : name.startsWith('readings_1h') ? '1h' : name.startsWith('readings') ? 'raw' : 'other');
const tier = { raw: 0, '5m': 0, '1h': 0, other: 0 };
for (const t of tables) tier[tierOf(t.name)] += t.bytes;
const count = (table: string): number => db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
const rows = { raw: count('readings'), '5m': count('readings_5m'), '1h': count('readings_1h') };
db.close();
const fileMiB = fs.statSync(file).size / MiB;
const perRow = { raw: tier.raw / rows.raw, '5m': tier['5m'] / rows['5m'], '1h': tier['1h'] / rows['1h'] };
const perDayMiB = { raw: (tier.raw / MiB) * (24 / opts.hours), '5m': (tier['5m'] / MiB) * (24 / opts.hours), '1h': (tier['1h'] / MiB) * (24 / opts.hours) };
const steady = { raw: perDayMiB.raw * 30, '5m': perDayMiB['5m'] * 90, '1h': perDayMiB['1h'] * 1825 };

// The prune, against a writer: the oldest hour of raw readings, the way the retention job runs,
// one slice of the hour per step size.
const live = new SqliteSeriesStore(dir);
/** How late a write batch was done against when it was due (what a PUBACK waiting on it sees). */
let latestWriteMs = 0;
let writes = 0;
let writing = true;
let liveMinute = opts.hours * 60;
const writer = (async () => {
  let due = performance.now();
  while (writing) {
    const rows = minute(liveMinute++).slice(0, (opts.sensors * metrics.length) / 600);
    await live.write(rows);
    latestWriteMs = Math.max(latestWriteMs, performance.now() - due);
    writes++;
    due += 100;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
})();
await new Promise((r) => setTimeout(r, 500));

interface PruneRun {
  stepRows: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  steps: number;
  meanStepMs: number;
  longestStepMs: number;
  p99StepMs: number;
  longestLoopDelayMs: number;
  p99LoopDelayMs: number;
  writesDuring: number;
  latestWriteMs: number;
  /** One-minute load average at the end of the prune. */
  load: number;
}

/** Prunes the raw readings before `before` by the retention job's loop, `stepRows` rows a step. */
async function pruneWith(stepRows: number, before: number): Promise<PruneRun> {
  /** Each prune step is one synchronous transaction: its duration is a stall the store causes. */
  const steps: number[] = [];
  const maintenance = new Maintenance({
    tasks: [
      {
        name: 'prune-raw',
        step: async () => {
          const s0 = performance.now();
          const n = await live.prune('raw', before, stepRows);
          steps.push(performance.now() - s0);
          return n;
        },
      },
    ],
    kv: new MemoryKeyValueStore(),
    clock: { now: () => t0 + 31 * DAY },
    logger: createLogger('silent'),
    metrics: new Metrics({ defaultMetrics: false }),
    intervalMs: 60_000,
    taskBudgetMs: 3_600_000,
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  latestWriteMs = 0;
  const writes0 = writes;
  delay.enable();
  const p0 = performance.now();
  const [run] = await maintenance.run();
  const seconds = (performance.now() - p0) / 1000;
  delay.disable();
  steps.sort((x, y) => x - y);
  return {
    stepRows,
    rows: run!.handled,
    seconds,
    rowsPerSecond: run!.handled / seconds,
    steps: steps.length,
    meanStepMs: steps.reduce((n, x) => n + x, 0) / Math.max(1, steps.length),
    longestStepMs: steps.at(-1) ?? 0,
    p99StepMs: steps[Math.floor((steps.length - 1) * 0.99)] ?? 0,
    longestLoopDelayMs: delay.max / 1e6,
    p99LoopDelayMs: delay.percentile(99) / 1e6,
    writesDuring: writes - writes0,
    latestWriteMs,
    load: loadAverage()[0],
  };
}

const prunes: PruneRun[] = [];
for (const [i, stepRows] of opts.steps.entries()) {
  const p = await pruneWith(stepRows, t0 + Math.round((HOUR * (i + 1)) / opts.steps.length));
  prunes.push(p);
  log(`prune of ${p.rows} rows, ${stepRows} a step: ${p.seconds.toFixed(1)} s, ${p.steps} steps (mean ${p.meanStepMs.toFixed(1)} ms, p99 ${p.p99StepMs.toFixed(1)} ms, longest ${p.longestStepMs.toFixed(1)} ms); event-loop delay max ${p.longestLoopDelayMs.toFixed(1)} ms, p99 ${p.p99LoopDelayMs.toFixed(1)} ms; latest of ${p.writesDuring} write batches ${p.latestWriteMs.toFixed(1)} ms after due; load ${p.load}`);
}
writing = false;
await writer;
await live.close();
if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true });

const machine = describeMachine();
const result = { started: started.toISOString(), command: `npm run bench:store -- ${process.argv.slice(2).join(' ')}`.trim(), machine, options: opts, written, rows, bytesPerRow: perRow, tierMiB: { raw: tier.raw / MiB, '5m': tier['5m'] / MiB, '1h': tier['1h'] / MiB, other: tier.other / MiB }, fileMiB, perDayMiB, steadyStateMiB: steady, hourly, prunes };
const f2 = (n: number): string => n.toFixed(1);
const md = [
  `# Store size at the district load (${started.toISOString()})`,
  '',
  `\`${result.command}\` on ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}, commit ${machine.commit}; load average at the end ${machine.loadAverage.join(' ')}.`,
  '',
  `${opts.sensors} sensors × ${metrics.length} metrics once a minute = ${((opts.sensors * metrics.length) / 60).toFixed(0)} readings/s, ${opts.hours} h written: ${written} readings.`,
  '',
  '| resolution | rows | bytes per row (with indexes) | MiB per day | kept | MiB at that retention |',
  '|---|---|---|---|---|---|',
  `| raw | ${rows.raw} | ${f2(perRow.raw)} | ${f2(perDayMiB.raw)} | 30 days | ${f2(steady.raw)} |`,
  `| 5 min | ${rows['5m']} | ${f2(perRow['5m'])} | ${f2(perDayMiB['5m'])} | 90 days | ${f2(steady['5m'])} |`,
  `| 1 h | ${rows['1h']} | ${f2(perRow['1h'])} | ${f2(perDayMiB['1h'])} | 5 years | ${f2(steady['1h'])} |`,
  '',
  `File after a checkpoint: ${f2(fileMiB)} MiB. Writes: ${f2(hourly.reduce((n, h) => n + h.readingsPerSecond, 0) / hourly.length)} readings/s on average; folding an hour: ${f2(hourly.reduce((n, h) => n + h.foldSeconds, 0) / hourly.length)} s, longest step ${f2(Math.max(...hourly.map((h) => h.longestFoldStepMs)))} ms.`,
  '',
  `Pruning the oldest hour of raw readings (${opts.steps.length > 1 ? `a slice of it per step size, ` : ''}while writing ${((opts.sensors * metrics.length) / 60).toFixed(0)} readings/s in batches every 100 ms). A step is one transaction: the time it holds the event loop. The event-loop delay (monitorEventLoopDelay) includes the machine's scheduling; a write batch's lateness is what a PUBACK waiting on it sees.`,
  '',
  '| rows a step | rows pruned | seconds | rows/s | steps | mean step ms | p99 step ms | longest step ms | event-loop delay p99 / max ms | latest write batch ms after due | load |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...prunes.map((p) => `| ${p.stepRows} | ${p.rows} | ${f2(p.seconds)} | ${p.rowsPerSecond.toFixed(0)} | ${p.steps} | ${f2(p.meanStepMs)} | ${f2(p.p99StepMs)} | ${f2(p.longestStepMs)} | ${f2(p.p99LoopDelayMs)} / ${f2(p.longestLoopDelayMs)} | ${f2(p.latestWriteMs)} | ${p.load} |`),
  '',
].join('\n');
fs.mkdirSync(opts.out, { recursive: true });
const stamp = started.toISOString().replace(/[-:]/g, '').slice(0, 13);
fs.writeFileSync(path.join(opts.out, `${stamp}-store.json`), `${JSON.stringify(result, null, 2)}\n`);
fs.writeFileSync(path.join(opts.out, `${stamp}-store.md`), md);
log(md);
