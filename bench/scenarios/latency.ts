/**
 * Scenario 3, end-to-end alert latency: the fleet publishes calm telemetry at a fixed share of
 * the maximum rate (open loop), while hazard smoke sensors raise an alarm each, in turn, spread
 * over the window. Each alarm opens a ticket of its own, which the platform posts, signed, to the
 * sub-center's webhook; the latency is from the publish's scheduled send time to the webhook's
 * arrival at the receiver. Each share runs on a platform of its own, so that every alarm opens a
 * new ticket (an alarm on an open ticket is an update, which the outbox may coalesce, and a
 * sensor that keeps going off and on is flagged flapping and announced no more: neither is the
 * latency of a new hazard). Spare hazard sensors alarm during the warm-up, uncounted, so that
 * the first alarm after a start (the alerting path run for the first time) is not measured.
 */
import { connectFleet, noteLoad, sleep, startLoadgen, startPlatformUnderTest, type BenchContext, type PlatformUnderTest } from '../harness.js';
import { LogWatch, type LogWatchResult } from '../log-watch.js';
import type { Child } from '../processes.js';
import { cpuShare, loopShare } from '../processes.js';
import type { LoadCommand, RunResult } from '../loadgen.js';
import { summarize, type LatencySummary } from '../stats.js';
import { hazardFleet, sensorFleet } from '../fleet.js';

export interface LatencyRow {
  /** Share of the maximum rate offered. */
  share: number;
  devices: number;
  offeredPerSecond: number;
  /** Acknowledged publishes per second among those scheduled in the window. */
  ackedPerSecond: number;
  /** Publish → PUBACK (in the log) of the telemetry. */
  stored: LatencySummary | undefined;
  /** Publish → signed webhook received, of the hazard alarms and all-clears. */
  webhook: LatencySummary;
  hazardsSent: number;
  /** Hazard publishes whose webhook never came. */
  missing: number;
  /** Devices whose connection the platform closed, refusing a publish it had no room for. */
  closed?: number;
  /** Publishes refused and the log's backlogs, sampled every second from the warm-up's start. */
  log?: LogWatchResult;
  cpu: number;
  /** The part of it the platform's main thread (its event loop) used. */
  loopCpu?: number;
  rssMiB: number;
  generatorCpu: number;
  seconds: number;
  loadAverage: number;
}

export interface LatencyOptions {
  devices: number;
  hazards: number;
  shares: readonly number[];
  /** Alarms per second (each hazard sensor raises one per share). */
  hazardRate: number;
  warmupMs: number;
  durationMs: number;
}

export function latencyOptions(quick: boolean): LatencyOptions {
  return quick
    ? { devices: 50, hazards: 10, shares: [0.5], hazardRate: 5, warmupMs: 500, durationMs: 2_000 }
    : // 200 hazard sensors: the demo city has about that many places outside its zones, 450 m apart.
      { devices: 1_000, hazards: 200, shares: [0.1, 0.5, 0.9], hazardRate: 6, warmupMs: 5_000, durationMs: 30_000 };
}

/** The fleet, the hazard sensors, a platform and a load generator, connected. */
export async function startAlertBench(ctx: BenchContext, name: string, devices: number, hazards: number): Promise<{ sut: PlatformUnderTest; loadgen: Child<LoadCommand> }> {
  const fleet = sensorFleet(ctx.city, devices);
  const hazardSensors = hazardFleet(ctx.city, hazards);
  const sut = await startPlatformUnderTest(ctx, name, [...fleet, ...hazardSensors]);
  const loadgen = await startLoadgen(ctx, name);
  try {
    const connected = await connectFleet(loadgen, sut.mqttPort, sut.secret, fleet, hazardSensors);
    ctx.log(`  ${connected.connected} devices connected in ${(connected.ms / 1000).toFixed(1)} s`);
  } catch (err) {
    await loadgen.stop({ op: 'exit' });
    await sut.stop();
    throw err;
  }
  return { sut, loadgen };
}

/** Webhook latencies of the hazard publishes of a run, and how many never arrived. */
export async function webhookLatency(ctx: BenchContext, hazards: [string, number][], settleMs = 5_000): Promise<{ summary: LatencySummary; missing: number; samples: [number, number][] }> {
  const arrivals = new Map<string, number>();
  const end = Date.now() + settleMs;
  for (;;) {
    for (const [k, at] of (await ctx.sink.take()).arrivals) if (!arrivals.has(k)) arrivals.set(k, at);
    if (hazards.every(([k]) => arrivals.has(k)) || Date.now() > end) break;
    await sleep(200);
  }
  const samples: [number, number][] = [];
  let missing = 0;
  for (const [key, sentAt] of hazards) {
    const at = arrivals.get(key);
    if (at === undefined) missing++;
    else samples.push([sentAt, at - sentAt]);
  }
  return { summary: summarize(samples.map(([, ms]) => ms)), missing, samples };
}

export async function alertLatency(ctx: BenchContext, opts: LatencyOptions, maxRate: number): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const share of opts.shares) {
    const { sut, loadgen } = await startAlertBench(ctx, `latency-${Math.round(share * 100)}`, opts.devices, opts.hazards);
    try {
      await ctx.sink.take();
      const rate = share * maxRate;
      noteLoad(ctx, `latency ${share}`);
      // Watched from the start: the warm-up's refusals close devices the window then misses.
      const watch = new LogWatch(() => sut.stats());
      await watch.sample();
      const watching = setInterval(() => void watch.sample(), 1_000);
      // The alarms start after the warm-up, so that they all fall in the measured window.
      const runP = loadgen.request<RunResult>({ op: 'open', rate, qos: 1, warmupMs: opts.warmupMs, durationMs: opts.durationMs, hazardRate: opts.hazardRate, hazardMode: 'once' });
      await sleep(opts.warmupMs);
      await watch.measureFromHere();
      await sut.profileStart();
      const a = sut.sample();
      await sleep(opts.durationMs);
      const b = sut.sample();
      clearInterval(watching);
      await watch.sample();
      await sut.profileStop(`latency-${Math.round(share * 100)}`);
      const run = await runP;
      const hooks = await webhookLatency(ctx, run.hazards ?? []);
      rows.push({
        share,
        devices: opts.devices,
        offeredPerSecond: rate,
        ackedPerSecond: run.rate,
        stored: run.latency,
        webhook: hooks.summary,
        hazardsSent: run.hazards?.length ?? 0,
        missing: hooks.missing,
        closed: run.closed ?? 0,
        log: watch.result(),
        cpu: cpuShare(a, b),
        loopCpu: loopShare(a, b),
        rssMiB: b.rss / 2 ** 20,
        generatorCpu: run.cpu,
        seconds: run.seconds,
        loadAverage: noteLoad(ctx, `latency ${share} end`),
      });
      ctx.log(
        `  ${Math.round(share * 100)}% (${Math.round(rate)} publishes/s): stored p50 ${run.latency?.p50.toFixed(1)} p99 ${run.latency?.p99.toFixed(1)} ms; webhook p50 ${hooks.summary.p50.toFixed(1)} p99 ${hooks.summary.p99.toFixed(1)} ms (${hooks.summary.count} alerts, ${hooks.missing} missing)`,
      );
      await ctx.sink.take();
    } finally {
      await loadgen.stop({ op: 'exit' });
      await sut.stop();
    }
  }
  return rows;
}
