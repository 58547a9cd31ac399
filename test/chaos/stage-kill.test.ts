/**
 * Stages killed mid-stream: ingest, detectors and alerting each run as their own Node process
 * and are killed with SIGKILL (no chance to finish anything) while devices publish, then
 * started again; and all three stopped with SIGTERM in the middle of their batches. Devices
 * are real MQTT clients against the broker (in this process); the sub-centers' webhook
 * receiver is a real HTTP server that acts on each Idempotency-Key once.
 *
 * What is counted afterwards (test/support/chaos.ts checkPipeline): every acknowledged
 * reading is in InfluxDB exactly once, every smoke device raised exactly one ticket, and
 * each ticket's webhook message reached the receiver under the one key the outbox holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { chaosRunnable, checkPipeline, scatteredPlaces, streamReadings } from '../support/chaos.js';
import { spawnStages, type StageProcess } from '../support/distributed.js';
import { cityWithWebhooks, startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';
import { IdempotentReceiver } from '../support/webhook-receiver.js';

const services = testServices();
const SECRET = 'chaos-webhook-secret-0001';
/** Generous: consumer groups rebalance after each restart on a busy 2-core machine. */
const PIPELINE_MS = 90_000;
/** Readings per device: the smoke rule fires after 30 s of device time, at the 31st. */
const PER_DEVICE = 45;
const DEVICES = 4;
const STAGES = ['ingest', 'detectors', 'alerting'] as const;
type Stage = (typeof STAGES)[number];

describe.skipIf(!chaosRunnable(services))('chaos: pipeline stages killed mid-stream', () => {
  const namespace = testNamespace();
  const receiver = new IdempotentReceiver(SECRET);
  let cityDir: string;
  let edge: TestPlatform;
  const running = new Map<Stage, StageProcess>();
  const all: StageProcess[] = [];

  const start = (stage: Stage): StageProcess => {
    const p = spawnStages(stage, { ...distributedEnv(services!, namespace), STREETWATCH_CONFIG: cityDir, STREETWATCH_DATA_DIR: tempDir(stage) });
    running.set(stage, p);
    all.push(p);
    return p;
  };

  beforeAll(async () => {
    await receiver.up();
    cityDir = cityWithWebhooks({ north: { url: receiver.url, secret: SECRET }, south: { url: receiver.url, secret: SECRET } });
    const started = STAGES.map(start);
    edge = await startTestPlatform({ cityDir, env: { ...distributedEnv(services!, namespace), STREETWATCH_STAGES: 'broker,api' } });
    await Promise.all(started.map((p) => p.ready));
  }, 180_000);

  afterAll(async () => {
    await edge?.stop();
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.all(all.map((p) => p.exited));
    await receiver.down();
    if (services) await dropNamespace(services, namespace);
  }, 120_000);

  /** Smoke devices in their own places: each raises one ticket once its reading held 30 s. */
  async function smokeRound(prefix: string, subcenter: 'north' | 'south', offset: number) {
    const places = scatteredPlaces(DEVICES, subcenter, offset);
    const devices = [];
    for (const [i, loc] of places.entries()) {
      const id = `${prefix}${i}`;
      devices.push({ id, secret: await edge.provision(id, loc, 'smoke') });
    }
    const t0 = Date.now() - 60_000;
    // Paced so that the stream lasts a few seconds: the fault lands in the middle of it.
    const stream = streamReadings({ mqttUrl: edge.mqttUrl, devices, metric: 'smoke', value: () => 50, count: PER_DEVICE, t0, stepMs: 1_000, paceMs: 40 });
    return { stream, ids: devices.map((d) => d.id), t0 };
  }

  it.each([
    ['ingest', 'kill-ing-', 'north', 0],
    ['detectors', 'kill-det-', 'south', 0],
    ['alerting', 'kill-alr-', 'north', 6],
  ] as const)('loses and duplicates nothing when %s is killed with SIGKILL mid-stream and restarted', { timeout: PIPELINE_MS * 3 }, async (stage, prefix, subcenter, offset) => {
    const { stream, ids, t0 } = await smokeRound(prefix, subcenter, offset);
    const total = DEVICES * PER_DEVICE;
    await waitFor(() => stream.ackedTotal() >= total / 3 || undefined, 'a third of the readings acknowledged', PIPELINE_MS);
    const victim = running.get(stage)!;
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor(() => stream.ackedTotal() >= (2 * total) / 3 || undefined, `two thirds acknowledged with ${stage} down`, PIPELINE_MS);
    await start(stage).ready;
    await stream.done;
    expect(stream.ackedTotal()).toBe(total);
    await checkPipeline({ edge, services: services!, namespace, prefix, acked: total, ticketDevices: ids, receiver, from: t0 - 1_000, to: t0 + PER_DEVICE * 1_000 + 1_000, ms: PIPELINE_MS });
  });

  it('drains on SIGTERM in the middle of a batch: every stage exits 0 and nothing is lost', { timeout: PIPELINE_MS * 3 }, async () => {
    const { stream, ids, t0 } = await smokeRound('term-', 'south', 6);
    const total = DEVICES * PER_DEVICE;
    await waitFor(() => stream.ackedTotal() >= total / 2 || undefined, 'half of the readings acknowledged', PIPELINE_MS);
    const stopping = STAGES.map((s) => running.get(s)!);
    for (const p of stopping) p.child.kill('SIGTERM');
    for (const [i, p] of stopping.entries()) expect(await p.exited, `${STAGES[i]} exit`).toEqual({ code: 0, signal: null });
    await Promise.all(STAGES.map((s) => start(s).ready));
    await stream.done;
    expect(stream.ackedTotal()).toBe(total);
    await checkPipeline({ edge, services: services!, namespace, prefix: 'term-', acked: total, ticketDevices: ids, receiver, from: t0 - 1_000, to: t0 + PER_DEVICE * 1_000 + 1_000, ms: PIPELINE_MS });
  });
});
