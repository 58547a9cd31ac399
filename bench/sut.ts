/**
 * StreetWatch as the system under test: the embedded platform exactly as `npm start` builds it
 * (configuration from the environment), in a process of its own that the benchmark runner
 * drives over IPC. It reports its ports once ready, and on request the platform's own counters.
 *
 * `probe` adds a consumer of `sw.readings` that records, for every reading, the time from its
 * timestamp (set by the load generator when it sent the publish, in whole milliseconds) to its
 * delivery on the bus, which follows the store commit: the publish → stored latency of QoS 0
 * publishes, which have no PUBACK to time. It is off unless asked for. `profile-start` and
 * `profile-stop` take a V8 CPU profile of a measured window (`npm run bench -- --cpu-prof <dir>`)
 * and a sampling heap profile of what the window allocated that outlived the young generation: still
 * live at its end, or freed by a full collection (`--heap-prof <dir>`).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startPlatform } from '../app/platform.js';
import { loadConfig } from '../core/config.js';
import type { Subscription } from '../core/ports.js';
import { wallNow } from './mqtt-wire.js';
import { bucketsOf, countAbove, LatencyRecorder, type Buckets, type LatencySummary } from './stats.js';

export type SutCommand = { op: 'stats' } | { op: 'probe-start'; from: number } | { op: 'probe-stop' } | { op: 'profile-start'; cpu: boolean; heap: boolean } | { op: 'profile-stop'; cpuFile?: string; heapFile?: string } | { op: 'stop' };

/** A batch, retention step or collection longer than this counts as long (a bucket bound of the three histograms). */
const LONG_STEP_SECONDS = 0.05;

export interface SutStats {
  readingsStored: number;
  alerts: number;
  tickets: number;
  delivered: number;
  rejected: number;
  connections: number;
  /** Publishes the broker could not hand to the pipeline (the log refused them): their connections were closed. */
  refusedPublishes: number;
  /** What each topic of the log holds that its groups have not taken, as of the log's last maintenance (every second). */
  backlog: Record<string, number>;
  /**
   * Batches of each consumer group (`group on topic`) and steps of each retention task
   * (`retention task`) that took longer than LONG_STEP_SECONDS since the platform started: what
   * held the event loop long enough to show in a p99. The garbage collector's pauses count too,
   * by kind (`gc major`, `gc minor`, `gc incremental`, `gc weakcb`).
   */
  longSteps: Record<string, number>;
  /** The longest delay of the event loop since the previous request for these stats, in ms (10 ms resolution). */
  loopDelayMaxMs: number;
  /** The cumulative buckets of `streetwatch_stage_lag_seconds` by stage, since the platform started. */
  stageLag: Buckets;
  rss: number;
  heapUsed: number;
}

async function counter(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values.reduce((n, v) => n + v.value, 0);
}

const platform = await startPlatform({ config: loadConfig() });
const { metrics } = platform;
let probe: Subscription | undefined;
let profiler: Session | undefined;
const probed = new LatencyRecorder();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

async function run(cmd: SutCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'stats': {
      const mem = process.memoryUsage();
      const delivered = (await metrics.deliveries.get()).values.filter((v) => v.labels.outcome === 'delivered').reduce((n, v) => n + v.value, 0);
      const refusedPublishes = (await metrics.mqttHandOffFailures.get()).values.filter((v) => v.labels.path === 'publish').reduce((n, v) => n + v.value, 0);
      const backlog: Record<string, number> = {};
      for (const v of (await metrics.busBacklog.get()).values) backlog[String(v.labels.topic)] = v.value;
      const longSteps = {
        ...countAbove(bucketsOf((await metrics.busBatchSeconds.get()).values, (l) => `${String(l.group)} on ${String(l.topic)}`), LONG_STEP_SECONDS),
        ...countAbove(bucketsOf((await metrics.retentionStepSeconds.get()).values, (l) => `retention ${String(l.task)}`), LONG_STEP_SECONDS),
        ...countAbove(bucketsOf((await metrics.registry.getSingleMetric('streetwatch_nodejs_gc_duration_seconds')!.get()).values, (l) => `gc ${String(l.kind)}`), LONG_STEP_SECONDS),
      };
      const loopDelayMaxMs = loopDelay.max / 1e6;
      loopDelay.reset();
      return {
        readingsStored: await counter(metrics.readingsStored),
        alerts: await counter(metrics.alerts),
        tickets: await counter(metrics.tickets),
        delivered,
        rejected: await counter(metrics.rejected),
        connections: await counter(metrics.mqttConnections),
        refusedPublishes,
        backlog,
        longSteps,
        stageLag: bucketsOf((await metrics.stageLag.get()).values, (l) => String(l.stage)),
        loopDelayMaxMs,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
      } satisfies SutStats;
    }
    case 'probe-start':
      probed.reset();
      probe = await platform.bus.subscribe('sw.readings', 'bench-probe', async (records) => {
        const now = wallNow();
        // Readings stamped before the window (a flood's backlog, a warm-up) are not its latency.
        for (const { value } of records) if (value.ts >= cmd.from) probed.record(now - value.ts);
      }, { from: 'latest' });
      return undefined;
    case 'probe-stop': {
      await probe?.close();
      probe = undefined;
      return probed.count > 0 ? probed.summary() : undefined satisfies LatencySummary | undefined;
    }
    case 'profile-start':
      profiler = new Session();
      profiler.connect();
      if (cmd.cpu) {
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.start');
      }
      if (cmd.heap) {
        await profiler.post('HeapProfiler.enable');
        // One sample per 256 KiB allocated on average: a long window stays cheap to record. What a
        // full collection freed is kept: what lived long enough to be promoted is what the old
        // generation, its collections and the process's size are made of.
        await profiler.post('HeapProfiler.startSampling', { samplingInterval: 256 * 1024, includeObjectsCollectedByMajorGC: true });
      }
      return undefined;
    case 'profile-stop': {
      if (!profiler) return [];
      const written: string[] = [];
      if (cmd.cpuFile !== undefined) {
        const { profile } = await profiler.post('Profiler.stop');
        fs.writeFileSync(cmd.cpuFile, JSON.stringify(profile));
        written.push(cmd.cpuFile);
      }
      if (cmd.heapFile !== undefined) {
        const { profile } = await profiler.post('HeapProfiler.stopSampling');
        fs.writeFileSync(cmd.heapFile, JSON.stringify(profile));
        written.push(cmd.heapFile);
      }
      profiler.disconnect();
      profiler = undefined;
      return written;
    }
    case 'stop':
      await platform.stop();
      process.exit(0);
  }
}

if (!process.send) throw new Error('bench/sut.ts runs as a child process of the benchmark (bench/main.ts)');
process.on('message', (cmd: SutCommand) => {
  run(cmd).then(
    (result) => process.send!({ ok: true, result }),
    (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.send({ ok: true, result: { mqttPort: platform.mqttPort, httpPort: platform.httpPort } });
