/**
 * Scenario 2, ingest throughput of the distributed mode. Broker, ingest, detectors and alerting
 * run as separate Node processes connected only by Kafka, InfluxDB and Redis (from
 * `KAFKA_BROKERS`, `INFLUX_*`, `REDIS_URL`, else started with `infra/local/up`), in a namespace
 * of their own that is deleted afterwards. The same load generator as scenario 1 connects the
 * fleet (provisioned in Redis) and keeps QoS 1 publishes in flight (closed loop).
 *
 * Two rates: publishes acknowledged per second (the broker sends PUBACK once Kafka acknowledged
 * the raw publish, acks = all in-sync replicas), and readings stored per second, from the first
 * publish of the run until InfluxDB, queried with Flux, holds every reading of every publish the
 * broker acknowledged (each went through ingest's validation, zone lookup and write; the
 * detectors evaluate each). Like is compared with like: the generator stamps no reading after
 * it is sent and none twice per device and millisecond (bench/loadgen.ts), so each is a point
 * of its own in InfluxDB, and a publish never acknowledged is not counted.
 */
import { flux } from '@influxdata/influxdb-client';
import { generateSecret, hashSecret } from '../../core/secret-hash.js';
import { createLogger } from '../../core/logger.js';
import { provisionedDevice } from '../../core/schemas.js';
import { RedisStateStore } from '../../core/store/redis/state.js';
import { fluxRows, spawnStages, type StageProcess } from '../../test/support/distributed.js';
import { distributedEnv, dropNamespace, measurementOf, testNamespace } from '../../test/support/namespace.js';
import { freePort, provisionServices, type ServiceEnv } from '../../test/support/services.js';
import { sensorFleet, type BenchDevice } from '../fleet.js';
import { connectFleet, noteLoad, sleep, startLoadgen, UNTHROTTLED, type BenchContext } from '../harness.js';
import type { RunResult } from '../loadgen.js';
import { sampleProc, type ProcSample } from '../processes.js';
import type { LatencySummary } from '../stats.js';
import { fmt } from './throughput.js';

export interface DistributedRow {
  devices: number;
  ingestProcesses: number;
  detectorProcesses: number;
  /** Publishes kept unanswered across the fleet. */
  inflight: number;
  /** QoS 1 publishes acknowledged per second (in Kafka) in the measured window. */
  publishesPerSecond: number;
  /** Readings readable in InfluxDB per second, from the run's first publish to the last reading stored. */
  storedReadingsPerSecond: number;
  readingsStored: number;
  /** Publish → PUBACK. */
  latency: LatencySummary | undefined;
  /** CPU of all stage processes together in the measured window, in cores. */
  stagesCpu: number;
  generatorCpu: number;
  loadAverage: number;
}

export interface DistributedOptions {
  runs: readonly { devices: number; ingest: number; detectors: number }[];
  inflight: number;
  warmupMs: number;
  durationMs: number;
  /** How long InfluxDB may gain no reading before the run is declared stalled. */
  stallMs: number;
}

export function distributedOptions(quick: boolean): DistributedOptions {
  return quick
    ? { runs: [{ devices: 50, ingest: 1, detectors: 1 }], inflight: 200, warmupMs: 500, durationMs: 2_000, stallMs: 60_000 }
    : {
        runs: [
          { devices: 100, ingest: 1, detectors: 1 },
          { devices: 100, ingest: 2, detectors: 1 },
        ],
        inflight: 800,
        warmupMs: 3_000,
        durationMs: 15_000,
        stallMs: 60_000,
      };
}

/** Readings of the namespace InfluxDB holds with a time in [from, to]. */
async function storedReadings(svc: ServiceEnv, namespace: string, from: number, to: number): Promise<number> {
  const [row] = await fluxRows<{ _value: number }>(
    svc,
    flux`from(bucket: ${svc.INFLUX_BUCKET})
      |> range(start: ${new Date(from)}, stop: ${new Date(to)})
      |> filter(fn: (r) => r._measurement == ${measurementOf(namespace)} and r._field == "value")
      |> group()
      |> count()`,
  );
  return row?._value ?? 0;
}

/** Runs scenario 2; a string says why it could not run (no services). */
export async function distributedThroughput(ctx: BenchContext, opts: DistributedOptions): Promise<DistributedRow[] | string> {
  const services = await provisionServices(process.env, (line) => ctx.log(`  ${line}`));
  if (!services.env) return 'Kafka, InfluxDB and Redis are off (STREETWATCH_TEST_SERVICES=off)';
  const svc = services.env;
  const rows: DistributedRow[] = [];
  try {
    for (const run of opts.runs) rows.push(await oneRun(ctx, svc, run, opts));
  } finally {
    await services.stop();
  }
  return rows;
}

/** Adds the fleet to the namespace's Redis state store, all with one secret (hashed once); returns it. */
export async function provisionFleet(svc: ServiceEnv, namespace: string, fleet: readonly BenchDevice[]): Promise<string> {
  const state = new RedisStateStore({ url: svc.REDIS_URL, namespace, logger: createLogger('warn') });
  await state.connect();
  try {
    const secret = generateSecret();
    const secretHash = await hashSecret(secret);
    const now = Date.now();
    for (const d of fleet) await state.devices.add(provisionedDevice({ id: d.id, kind: d.kind, location: d.location }, secretHash, now));
    return secret;
  } finally {
    await state.close();
  }
}

async function oneRun(ctx: BenchContext, svc: ServiceEnv, run: DistributedOptions['runs'][number], opts: DistributedOptions): Promise<DistributedRow> {
  const namespace = testNamespace('swbench');
  const env = { ...distributedEnv(svc, namespace), STREETWATCH_DATA_DIR: ctx.workDir, ...UNTHROTTLED };
  const fleet = sensorFleet(ctx.city, run.devices);
  const processes: StageProcess[] = [];
  const loadgen = await startLoadgen(ctx, `distributed-${run.devices}-${run.ingest}`);
  try {
    const secret = await provisionFleet(svc, namespace, fleet);
    const mqttPort = await freePort();
    processes.push(spawnStages('broker', { ...env, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort) }));
    for (let i = 0; i < run.ingest; i++) processes.push(spawnStages('ingest', env));
    for (let i = 0; i < run.detectors; i++) processes.push(spawnStages('detectors', env));
    processes.push(spawnStages('alerting', env));
    await Promise.all(processes.map((p) => p.ready));
    await connectFleet(loadgen, mqttPort, secret, fleet);
    ctx.log(`  ${processes.length} stage processes (broker, ${run.ingest} ingest, ${run.detectors} detectors, alerting), ${run.devices} devices connected`);

    const window = Math.max(1, Math.round(opts.inflight / run.devices));
    const wallStart = Date.now();
    const start = performance.now();
    noteLoad(ctx, `distributed ${run.devices}/${run.ingest}`);
    const runP = loadgen.request<RunResult>({ op: 'closed', qos: 1, window, warmupMs: opts.warmupMs, durationMs: opts.durationMs });
    await sleep(opts.warmupMs);
    const sampleAll = (): ProcSample[] => processes.map((p) => sampleProc(p.child.pid!));
    const a = sampleAll();
    await sleep(opts.durationMs);
    const b = sampleAll();
    const result = await runP;
    const stagesCpu = a.reduce((sum, x, i) => sum + (b[i]!.cpuSeconds - x.cpuSeconds), 0) / ((b[0]!.at - a[0]!.at) / 1000);
    const expected = result.readingsAcked;
    if (result.lost > 0 || result.rejected > 0) ctx.log(`  ${result.lost} publishes unacknowledged (not counted), ${result.rejected} refusals on the errors topics`);

    // Stops, with what the stages said, when InfluxDB gains nothing for a minute.
    let stored = 0;
    let before = -1;
    let progressAt = performance.now();
    let saidAt = performance.now();
    while ((stored = await storedReadings(svc, namespace, wallStart - 60_000, Date.now() + 60_000)) < expected) {
      if (stored !== before) [before, progressAt] = [stored, performance.now()];
      if (performance.now() - progressAt > opts.stallMs) {
        for (const p of processes) ctx.log(p.output().split('\n').slice(-20).join('\n'));
        throw new Error(`stalled: ${stored} of ${expected} acknowledged readings in InfluxDB (${result.readingsTotal} sent, ${result.rejected} refusals), none more for ${opts.stallMs / 1000} s`);
      }
      if (performance.now() - saidAt > 5_000) {
        ctx.log(`  stored ${fmt(stored)} / ${fmt(expected)} readings`);
        saidAt = performance.now();
      }
      await sleep(250);
    }
    const storedSeconds = (performance.now() - start) / 1000;
    const row: DistributedRow = {
      devices: run.devices,
      ingestProcesses: run.ingest,
      detectorProcesses: run.detectors,
      inflight: window * run.devices,
      publishesPerSecond: result.rate,
      storedReadingsPerSecond: expected / storedSeconds,
      readingsStored: expected,
      latency: result.latency,
      stagesCpu,
      generatorCpu: result.cpu,
      loadAverage: noteLoad(ctx, `distributed ${run.devices}/${run.ingest} end`),
    };
    ctx.log(`  acknowledged ${fmt(row.publishesPerSecond)} publishes/s (p99 ${result.latency?.p99.toFixed(1)} ms); ${fmt(row.readingsStored)} readings in InfluxDB at ${fmt(row.storedReadingsPerSecond)}/s`);
    return row;
  } finally {
    await loadgen.stop({ op: 'exit' });
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await dropNamespace(svc, namespace).catch((err: unknown) => ctx.log(`  could not drop ${namespace}: ${(err as Error).message}`));
  }
}
