/**
 * Scenario 6, soak: half the maximum rate for ten minutes, hazard alarms included, sampling the
 * platform's RSS and the size of its data directory (the store). Growth compares the median RSS
 * of the last minute with that of the minute after the warm-up (the first minute: JIT, caches
 * and SQLite's page cache filling up), so one garbage collection more or less at either end does
 * not decide it. The store grows with the readings until the raw retention (30 days by default)
 * starts pruning: over a soak it grows steadily, and its rate per hour is what the soak tells.
 */
import { noteLoad, sleep, type BenchContext } from '../harness.js';
import { LogWatch, type LogWatchResult } from '../log-watch.js';
import type { RunResult } from '../loadgen.js';
import { cpuShare, loopShare, type ProcSample } from '../processes.js';
import { percentilesByWindow, trendPercent, type LatencySummary } from '../stats.js';
import { startAlertBench, webhookLatency } from './latency.js';

export interface SoakResult {
  devices: number;
  ratePerSecond: number;
  minutes: number;
  ackedPerSecond: number;
  /** Median RSS over the reference and the final window. */
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  growthPercent: number;
  /**
   * The least-squares line through every RSS sample after the warm-up, as its rise over that
   * time in percent of its value at the warm-up's end: the trend under the heap's sawtooth, which
   * the two windows' medians may catch at different phases.
   */
  trendPercent: number;
  stored: LatencySummary | undefined;
  webhook: LatencySummary;
  /**
   * The webhook latency of the alarms sent in each twelfth of the soak (at least a minute):
   * [minutes since the start of the window, alarms, p99 ms, max ms]. A tail that grows with the
   * store shows as rising windows; a periodic task as a few high ones.
   */
  webhookWindows?: [number, number, number, number][];
  missing: number;
  /** Devices whose connection the platform closed during the soak (not reconnected). */
  closed: number;
  cpu: number;
  /** The part of it the platform's main thread (its event loop) used. */
  loopCpu?: number;
  /** RSS every sample period: [seconds since start, MiB]. */
  rssSeries: [number, number][];
  /** Size of the data directory (databases and logs) at the start and the end, MiB, and its growth per hour. */
  storeStartMiB: number;
  storeEndMiB: number;
  storeMiBPerHour: number;
  /** Store size every sample period: [seconds since start, MiB]. */
  storeSeries: [number, number][];
  /** Publishes the platform refused (closing their connections), and the log's backlogs, over the soak. */
  log?: LogWatchResult;
  loadAverage: { start: number; end: number; max: number };
}

export interface SoakOptions {
  devices: number;
  hazards: number;
  hazardRate: number;
  durationMs: number;
  warmupMs: number;
  /** Length of the reference and final windows. */
  windowMs: number;
  sampleEveryMs: number;
}

export function soakOptions(quick: boolean): SoakOptions {
  return quick
    ? { devices: 50, hazards: 10, hazardRate: 2, durationMs: 8_000, warmupMs: 2_000, windowMs: 2_000, sampleEveryMs: 250 }
    : // Each sensor goes off or back every 200 s: three changes in ten minutes, under the city's
      // flapping threshold (six), so every change is announced (an update, which the outbox may
      // coalesce for a moment).
      { devices: 1_000, hazards: 200, hazardRate: 1, durationMs: 600_000, warmupMs: 60_000, windowMs: 60_000, sampleEveryMs: 5_000 };
}

const MiB = 2 ** 20;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}

export async function soak(ctx: BenchContext, opts: SoakOptions, maxRate: number): Promise<SoakResult> {
  const rate = maxRate / 2;
  const { sut, loadgen } = await startAlertBench(ctx, 'soak', opts.devices, opts.hazards);
  try {
    await ctx.sink.take();
    const loadStart = noteLoad(ctx, 'soak');
    let loadMax = loadStart;
    const runP = loadgen.request<RunResult>({ op: 'open', rate, qos: 1, warmupMs: 0, durationMs: opts.durationMs, hazardRate: opts.hazardRate });
    await sut.profileStart();
    const samples: ProcSample[] = [];
    const stores: { at: number; bytes: number }[] = [];
    const watch = new LogWatch(() => sut.stats());
    await watch.sample();
    const t0 = performance.now();
    const wall0 = performance.timeOrigin + t0;
    let nextMinute = 60_000;
    while (performance.now() - t0 < opts.durationMs - opts.sampleEveryMs / 2) {
      samples.push(sut.sample());
      stores.push({ at: performance.now(), bytes: sut.storeBytes() });
      await watch.sample();
      const elapsed = performance.now() - t0;
      if (elapsed >= nextMinute) {
        nextMinute += 60_000;
        loadMax = Math.max(loadMax, noteLoad(ctx, `soak minute ${Math.round(elapsed / 60_000)}`));
        ctx.log(`  ${Math.round(elapsed / 1000)} s: RSS ${(samples.at(-1)!.rss / MiB).toFixed(0)} MiB, store ${(stores.at(-1)!.bytes / MiB).toFixed(0)} MiB, ${watch.refusedSoFar} publishes refused`);
      }
      await sleep(opts.sampleEveryMs);
    }
    samples.push(sut.sample());
    stores.push({ at: performance.now(), bytes: sut.storeBytes() });
    await watch.sample();
    await sut.profileStop('soak');
    const run = await runP;
    const hooks = await webhookLatency(ctx, run.hazards ?? []);
    const at = (s: ProcSample): number => s.at - t0;
    const ref = samples.filter((s) => at(s) >= opts.warmupMs && at(s) < opts.warmupMs + opts.windowMs).map((s) => s.rss);
    const last = samples.filter((s) => at(s) >= opts.durationMs - opts.windowMs).map((s) => s.rss);
    const rssStart = median(ref);
    const rssEnd = median(last);
    const loadEnd = noteLoad(ctx, 'soak end');
    const result: SoakResult = {
      devices: opts.devices,
      ratePerSecond: rate,
      minutes: opts.durationMs / 60_000,
      ackedPerSecond: run.rate,
      rssStartMiB: rssStart / MiB,
      rssEndMiB: rssEnd / MiB,
      rssMaxMiB: Math.max(...samples.map((s) => s.rss)) / MiB,
      growthPercent: ((rssEnd - rssStart) / rssStart) * 100,
      trendPercent: trendPercent(samples.filter((s) => at(s) >= opts.warmupMs).map((s) => [at(s), s.rss])),
      stored: run.latency,
      webhook: hooks.summary,
      webhookWindows: percentilesByWindow(hooks.samples, wall0, Math.max(60_000, opts.durationMs / 12)),
      missing: hooks.missing,
      closed: run.closed ?? 0,
      cpu: cpuShare(samples[0]!, samples.at(-1)!),
      loopCpu: loopShare(samples[0]!, samples.at(-1)!),
      rssSeries: samples.map((s) => [Math.round(at(s) / 1000), Math.round((s.rss / MiB) * 10) / 10]),
      storeStartMiB: stores[0]!.bytes / MiB,
      storeEndMiB: stores.at(-1)!.bytes / MiB,
      storeMiBPerHour: ((stores.at(-1)!.bytes - stores[0]!.bytes) / MiB / Math.max(1, stores.at(-1)!.at - stores[0]!.at)) * 3_600_000,
      storeSeries: stores.map((s) => [Math.round((s.at - t0) / 1000), Math.round((s.bytes / MiB) * 10) / 10]),
      log: watch.result(),
      loadAverage: { start: loadStart, end: loadEnd, max: Math.max(loadMax, loadEnd) },
    };
    ctx.log(`  RSS ${result.rssStartMiB.toFixed(1)} → ${result.rssEndMiB.toFixed(1)} MiB (${result.growthPercent.toFixed(1)}%, trend ${result.trendPercent.toFixed(1)}%), store ${result.storeStartMiB.toFixed(0)} → ${result.storeEndMiB.toFixed(0)} MiB (${result.storeMiBPerHour.toFixed(0)} MiB/h), stored p99 ${run.latency?.p99.toFixed(1)} ms, webhook p99 ${hooks.summary.p99.toFixed(1)} ms, ${result.closed} devices closed`);
    return result;
  } finally {
    await loadgen.stop({ op: 'exit' });
    await sut.stop();
  }
}
