/**
 * Scenario 1, ingest throughput of the embedded pipeline, and scenarios 7 and 9, the reference
 * brokers (Mosquitto, a bare Aedes) relaying the same load from the same generator to one subscriber.
 *
 * QoS 1 runs are closed loops: the fleet keeps a fixed number of publishes unanswered (spread
 * over the devices), so the sustained rate is what the system answers. StreetWatch answers a
 * QoS 1 publish once it is in its log (stored durably), and counts it once its readings are also
 * stored; Mosquitto answers on arrival, so its run counts what the subscriber receives instead.
 * QoS 0 runs flood: StreetWatch's rate is its own count of stored readings, Mosquitto's the
 * subscriber's count (an end-to-end window keeps its queues bounded).
 */
import { connectFleet, noteLoad, sleep, startLoadgen, startPlatformUnderTest, type BenchContext } from '../harness.js';
import type { LoadCommand, RunResult } from '../loadgen.js';
import type { AedesReferenceCommand, AedesReferenceReady } from '../aedes-reference.js';
import { startMosquitto } from '../mosquitto.js';
import { Child, cpuShare, loopShare, sampleProc, type ProcSample } from '../processes.js';
import type { LatencySummary } from '../stats.js';
import { sensorFleet, type BenchDevice } from '../fleet.js';
import { wallNow } from '../mqtt-wire.js';

export interface ThroughputRow {
  system: string;
  devices: number;
  qos: 0 | 1;
  /** StreetWatch at QoS 1: publishes acknowledged per second (in the log), of which publishesPerSecond were also stored. */
  ackedPerSecond?: number;
  /** Publishes kept unanswered (closed loop), or "flood". */
  load: string;
  publishesPerSecond: number;
  readingsPerSecond: number;
  latency: LatencySummary | undefined;
  /** What the latency is measured between. */
  latencyOf: string;
  /** CPU of the system under test, in cores. */
  cpu: number;
  /** The part of it its main thread (the event loop) used; absent in runs before it was measured. */
  loopCpu?: number;
  /** CPU time of the system under test per reading, in microseconds: what each reading costs it. */
  cpuMicrosPerReading: number;
  rssMiB: number;
  /** CPU of the load generator, in cores: near 1 means it, not the system, set the pace. */
  generatorCpu: number;
  seconds: number;
  loadAverage: number;
}

export interface ThroughputOptions {
  deviceCounts: readonly number[];
  /** Publishes kept unanswered across the fleet in QoS 1 runs. */
  inflight: number;
  warmupMs: number;
  durationMs: number;
}

export function throughputOptions(quick: boolean): ThroughputOptions {
  return quick ? { deviceCounts: [50], inflight: 200, warmupMs: 500, durationMs: 2_000 } : { deviceCounts: [100, 1_000, 10_000], inflight: 1_000, warmupMs: 3_000, durationMs: 15_000 };
}

/** Samples a process (and profiles it, when asked) at the edges of the measured window of a run under way. */
async function window<T>(
  run: Promise<T>,
  warmupMs: number,
  durationMs: number,
  sample: () => ProcSample,
  profile?: { start(): Promise<void>; stop(): Promise<void> },
): Promise<{ result: T; a: ProcSample; b: ProcSample }> {
  await sleep(warmupMs);
  await profile?.start();
  const a = sample();
  await sleep(durationMs);
  const b = sample();
  await profile?.stop();
  return { result: await run, a, b };
}

const MiB = 2 ** 20;

export async function streetwatchThroughput(ctx: BenchContext, opts: ThroughputOptions): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const count of opts.deviceCounts) {
    const fleet = sensorFleet(ctx.city, count);
    const sut = await startPlatformUnderTest(ctx, `throughput-${count}`, fleet);
    const loadgen = await startLoadgen(ctx, `throughput-${count}`);
    try {
      const connected = await connectFleet(loadgen, sut.mqttPort, sut.secret, fleet);
      ctx.log(`  StreetWatch, ${count} devices connected in ${(connected.ms / 1000).toFixed(1)} s`);

      const load = closedLoad(opts.inflight, count);
      noteLoad(ctx, `throughput ${count} QoS 1`);
      // A PUBACK means the publish is in the platform's log; the rate counted is what it also
      // stored in the window (its own count), so that the log's backlog does not pass for speed.
      const q1Run = loadgen.request<RunResult>({ op: 'closed', qos: 1, ...load.command, warmupMs: opts.warmupMs, durationMs: opts.durationMs });
      await sleep(opts.warmupMs);
      await sut.profileStart();
      const q1s0 = await sut.stats();
      const q1a = sut.sample();
      await sleep(opts.durationMs);
      const q1s1 = await sut.stats();
      const q1b = sut.sample();
      await sut.profileStop(`throughput-${count}-qos1`);
      const q1r = await q1Run;
      const stored = (q1s1.readingsStored - q1s0.readingsStored) / ((q1b.at - q1a.at) / 1000);
      const q1PerPublish = q1r.readings / Math.max(1, q1r.sent);
      const sustained = Math.min(q1r.rate, stored / q1PerPublish);
      const q1Row = row('StreetWatch embedded', count, 1, load.label, q1r, stored, 'publish → PUBACK (in the log)', q1a, q1b, noteLoad(ctx, `throughput ${count} QoS 1 end`));
      q1Row.publishesPerSecond = sustained;
      q1Row.ackedPerSecond = q1r.rate;
      rows.push(q1Row);
      ctx.log(`  QoS 1: ${fmt(sustained)} publishes/s stored (${fmt(q1r.rate)} acknowledged), p99 ${q1r.latency?.p99.toFixed(1)} ms, platform at ${(q1Row.cpu * 100).toFixed(0)}% of a core (event loop ${(loopShare(q1a, q1b) * 100).toFixed(0)}%), ${((cpuShare(q1a, q1b) * 1e6) / Math.max(1, q1r.rate)).toFixed(1)} CPU-µs per acknowledged publish`);
      const q1 = { result: { ...q1r, rate: sustained } };

      // QoS 0 has no flow control: a flood gives the rate the platform keeps up with (its own
      // count of stored readings), but its latency would be the queue in the sockets' buffers
      // (megabytes each on loopback), and so would that of anything sent after it. The latency
      // is taken first, open loop at half the QoS 1 rate; the flood comes last.
      await sut.child.request({ op: 'probe-start', from: wallNow() + opts.warmupMs });
      const halfRate = await loadgen.request<RunResult>({ op: 'open', rate: q1.result.rate / 2, qos: 0, warmupMs: opts.warmupMs, durationMs: opts.durationMs });
      // Every reading of the window counts, however long it waited.
      if (!(await drainStore(sut.stats, halfRate.readingsTotal))) ctx.log('  some readings of the half-rate window were still not stored after two minutes: its latency leaves them out');
      const latency = await sut.child.request<LatencySummary | undefined>({ op: 'probe-stop' });
      noteLoad(ctx, `throughput ${count} QoS 0`);
      const floodRun = loadgen.request<RunResult>({ op: 'flood', warmupMs: opts.warmupMs, durationMs: opts.durationMs });
      await sleep(opts.warmupMs);
      await sut.profileStart();
      const s0 = await sut.stats();
      const a = sut.sample();
      await sleep(opts.durationMs);
      const s1 = await sut.stats();
      const b = sut.sample();
      await sut.profileStop(`throughput-${count}-qos0`);
      const flood = await floodRun;
      const seconds = (b.at - a.at) / 1000;
      const readingsPerSecond = (s1.readingsStored - s0.readingsStored) / seconds;
      const perPublish = flood.readings / Math.max(1, flood.sent);
      rows.push({
        system: 'StreetWatch embedded',
        devices: count,
        qos: 0,
        load: 'flood',
        publishesPerSecond: readingsPerSecond / perPublish,
        readingsPerSecond,
        latency,
        latencyOf: `publish → stored, open loop at half the QoS 1 rate (${fmt(q1.result.rate / 2)}/s); reading timestamp in whole ms`,
        cpu: cpuShare(a, b),
        loopCpu: loopShare(a, b),
        cpuMicrosPerReading: (cpuShare(a, b) * 1e6) / Math.max(1, readingsPerSecond),
        rssMiB: b.rss / MiB,
        generatorCpu: flood.cpu,
        seconds,
        loadAverage: noteLoad(ctx, `throughput ${count} QoS 0 end`),
      });
      ctx.log(`  QoS 0: ${fmt(readingsPerSecond / perPublish)} publishes/s stored, p99 ${latency?.p99.toFixed(1)} ms`);
    } finally {
      await loadgen.stop({ op: 'exit' });
      await sut.stop();
    }
  }
  return rows;
}

/** Waits until the platform has stored `expected` readings, at most two minutes; false if it did not. */
async function drainStore(stats: () => Promise<{ readingsStored: number }>, expected: number): Promise<boolean> {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    if ((await stats()).readingsStored >= expected) return true;
    await sleep(100);
  }
  return false;
}

/** A reference broker started for one run: where it listens and how it stops. */
interface ReferenceBroker {
  /** Its name and version, as the report gives it. */
  system: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Scenario 7: Mosquitto relays the fleet's publishes to one subscriber. */
export function mosquittoThroughput(ctx: BenchContext, opts: ThroughputOptions): Promise<ThroughputRow[]> {
  return referenceThroughput(ctx, opts, 'mosquitto', async () => {
    const broker = await startMosquitto({ cpus: ctx.cpus.sut, log: `${ctx.workDir}/mosquitto.log` });
    return { system: `Mosquitto ${broker.version}`, port: broker.port, pid: broker.pid, stop: () => broker.stop() };
  });
}

/**
 * Scenario 9: a bare Aedes broker (bench/aedes-reference.ts) relays the same load, started as the
 * platform is (its Node flags and loader, its core): what MQTT in JavaScript costs on that core
 * before anything is stored.
 */
export function aedesThroughput(ctx: BenchContext, opts: ThroughputOptions): Promise<ThroughputRow[]> {
  return referenceThroughput(ctx, opts, 'aedes', async () => {
    const child = await Child.start<AedesReferenceCommand>('bare aedes', 'bench/aedes-reference.ts', { cpus: ctx.cpus.sut, platform: true, log: `${ctx.workDir}/aedes-reference.log` });
    const { port, version } = child.ready as AedesReferenceReady;
    return { system: `Aedes ${version} (bare)`, port, pid: child.pid, stop: () => child.stop({ op: 'exit' }) };
  });
}

/** Each fleet at QoS 1 and 0, closed loop end to end through a fresh reference broker. */
async function referenceThroughput(ctx: BenchContext, opts: ThroughputOptions, name: string, start: () => Promise<ReferenceBroker>): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const count of opts.deviceCounts) {
    const fleet = sensorFleet(ctx.city, count);
    for (const qos of [1, 0] as const) {
      const broker = await start();
      try {
        const loadgen = await startLoadgen(ctx, `${name}-${count}-${qos}`);
        try {
          rows.push(await relay(ctx, opts, loadgen, broker, fleet, qos));
        } finally {
          await loadgen.stop({ op: 'exit' });
        }
      } finally {
        await broker.stop();
      }
    }
  }
  return rows;
}

/** One closed-loop run through a reference broker to one subscriber; the rate is what the subscriber received. */
async function relay(ctx: BenchContext, opts: ThroughputOptions, loadgen: Child<LoadCommand>, broker: ReferenceBroker, fleet: readonly BenchDevice[], qos: 0 | 1): Promise<ThroughputRow> {
  const count = fleet.length;
  await connectFleet(loadgen, broker.port, undefined, fleet);
  await loadgen.request({ op: 'subscribe', host: '127.0.0.1', port: broker.port, topic: 'v1/devices/+/+', qos });
  const load = closedLoad(opts.inflight, count);
  noteLoad(ctx, `${broker.system} ${count} QoS ${qos}`);
  const run = await window(
    loadgen.request<RunResult>({ op: 'closed', qos, ...load.command, warmupMs: opts.warmupMs, durationMs: opts.durationMs, relay: true }),
    opts.warmupMs,
    opts.durationMs,
    () => sampleProc(broker.pid),
  );
  const out = row(
    broker.system,
    count,
    qos,
    `${load.label} end to end`,
    run.result,
    run.result.readingsPerSecond * (run.result.done / Math.max(1, run.result.sent)),
    'publish → received by the subscriber',
    run.a,
    run.b,
    noteLoad(ctx, `${broker.system} ${count} QoS ${qos} end`),
  );
  ctx.log(`  ${broker.system}, ${count} devices, QoS ${qos}: ${fmt(run.result.rate)} messages/s relayed, p99 ${run.result.latency?.p99.toFixed(1)} ms, broker at ${(out.cpu * 100).toFixed(0)}% of a core, generator at ${(run.result.cpu * 100).toFixed(0)}%`);
  return out;
}

/**
 * The closed loop's load: the same number in flight for every fleet. A fleet smaller than it keeps
 * a window per device; a larger one (10,000 devices) keeps that many across the fleet, device by
 * device in turn, so that a larger fleet means more devices, not more publishes waiting.
 */
function closedLoad(inflight: number, devices: number): { command: { window: number; inflight?: number }; label: string } {
  if (devices <= inflight) {
    const window = Math.max(1, Math.round(inflight / devices));
    return { command: { window }, label: `${(window * devices).toLocaleString('en-US')} in flight` };
  }
  return { command: { window: 1, inflight }, label: `${inflight.toLocaleString('en-US')} in flight, devices in turn` };
}

function row(system: string, devices: number, qos: 0 | 1, load: string, r: RunResult, readingsPerSecond: number, latencyOf: string, a: ProcSample, b: ProcSample, loadAverage: number): ThroughputRow {
  return {
    system,
    devices,
    qos,
    load,
    publishesPerSecond: r.rate,
    readingsPerSecond,
    latency: r.latency,
    latencyOf,
    cpu: cpuShare(a, b),
    loopCpu: loopShare(a, b),
    cpuMicrosPerReading: (cpuShare(a, b) * 1e6) / Math.max(1, readingsPerSecond),
    rssMiB: b.rss / MiB,
    generatorCpu: r.cpu,
    seconds: r.seconds,
    loadAverage,
  };
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
