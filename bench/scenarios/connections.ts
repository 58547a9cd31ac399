/**
 * Scenario 4, connections: what 10 000 connected devices cost the platform. Each connects as a
 * device does (secret checked with scrypt, an `offline` will, a subscription to its errors
 * topic, a retained `online` birth), then the fleet reports at a city's pace, one telemetry
 * publish per device per minute. The first minute is not measured: every device's first
 * reading registers it with the rules that watch for silence, a one-off. The second minute is,
 * with the platform's RSS at its end. Then the whole fleet drops and connects again, as after a
 * network outage: the platform remembers each secret it verified, so a reconnect costs no scrypt.
 */
import { connectFleet, noteLoad, sleep, startLoadgen, startPlatformUnderTest, type BenchContext } from '../harness.js';
import type { RunResult } from '../loadgen.js';
import { cpuShare } from '../processes.js';
import type { LatencySummary } from '../stats.js';
import { sensorFleet } from '../fleet.js';

export interface ConnectionsResult {
  devices: number;
  connected: number;
  /** Connecting the whole fleet, 200 handshakes at a time. */
  connectSeconds: number;
  /** The whole fleet connecting again after dropping at once (secrets already verified). */
  reconnectSeconds: number;
  /** RSS of the idle platform before any device connected. */
  rssBeforeMiB: number;
  /** RSS with every device connected, after the reporting period. */
  rssMiB: number;
  /** Platform CPU while the fleet connected, in cores. */
  connectCpu: number;
  /** Platform CPU while the connected fleet reported, in cores. */
  cpu: number;
  publishesPerSecond: number;
  stored: LatencySummary | undefined;
  seconds: number;
  loadAverage: number;
}

export interface ConnectionsOptions {
  devices: number;
  /** Time each device leaves between two reports; the first such period is not measured. */
  reportEveryMs: number;
  durationMs: number;
}

export function connectionsOptions(quick: boolean): ConnectionsOptions {
  return quick ? { devices: 200, reportEveryMs: 2_000, durationMs: 2_000 } : { devices: 10_000, reportEveryMs: 60_000, durationMs: 60_000 };
}

const MiB = 2 ** 20;

export async function connections(ctx: BenchContext, opts: ConnectionsOptions): Promise<ConnectionsResult> {
  const fleet = sensorFleet(ctx.city, opts.devices);
  const sut = await startPlatformUnderTest(ctx, 'connections', fleet);
  const loadgen = await startLoadgen(ctx, 'connections');
  try {
    await sleep(1_000);
    const idle = sut.sample();
    noteLoad(ctx, 'connections');
    await sut.profileStart();
    const connected = await connectFleet(loadgen, sut.mqttPort, sut.secret, fleet);
    const afterConnect = sut.sample();
    await sut.profileStop('connections-connect');
    ctx.log(`  ${connected.connected} devices connected in ${(connected.ms / 1000).toFixed(1)} s`);
    const rate = opts.devices / (opts.reportEveryMs / 1000);
    const runP = loadgen.request<RunResult>({ op: 'open', rate, qos: 1, warmupMs: opts.reportEveryMs, durationMs: opts.durationMs });
    await sleep(opts.reportEveryMs);
    await sut.profileStart();
    const a = sut.sample();
    await sleep(opts.durationMs);
    const b = sut.sample();
    await sut.profileStop('connections');
    const run = await runP;
    const stats = await sut.stats();
    if (stats.connections < opts.devices) throw new Error(`only ${stats.connections} of ${opts.devices} devices still connected`);
    await loadgen.request({ op: 'disconnect' });
    await sleep(2_000);
    await sut.profileStart();
    const reconnected = await connectFleet(loadgen, sut.mqttPort, sut.secret, fleet);
    await sut.profileStop('connections-reconnect');
    ctx.log(`  ${reconnected.connected} devices connected again in ${(reconnected.ms / 1000).toFixed(1)} s`);
    const result: ConnectionsResult = {
      devices: opts.devices,
      connected: stats.connections,
      connectSeconds: connected.ms / 1000,
      reconnectSeconds: reconnected.ms / 1000,
      rssBeforeMiB: idle.rss / MiB,
      rssMiB: b.rss / MiB,
      connectCpu: cpuShare(idle, afterConnect),
      cpu: cpuShare(a, b),
      publishesPerSecond: run.rate,
      stored: run.latency,
      seconds: (b.at - a.at) / 1000,
      loadAverage: noteLoad(ctx, 'connections end'),
    };
    ctx.log(`  RSS ${result.rssMiB.toFixed(0)} MiB (${result.rssBeforeMiB.toFixed(0)} MiB idle), CPU ${(result.cpu * 100).toFixed(1)}% of a core at ${Math.round(rate)} publishes/s`);
    return result;
  } finally {
    await loadgen.stop({ op: 'exit' }, 120_000);
    await sut.stop();
  }
}
