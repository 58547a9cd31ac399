/**
 * The Kafka broker restarted while devices publish, on a private Kafka of this suite (the
 * other suites keep the shared one); InfluxDB and Redis are the shared servers, in a
 * namespace of this suite. Every stage runs as its own process, reconnecting by itself.
 *
 * Proves: while Kafka is away the broker acknowledges nothing it could not hand over (the
 * device's connection closes and it sends again); producers and consumers of every stage
 * resume after the restart without being restarted themselves; and every acknowledged
 * reading is stored exactly once, every smoke device raised exactly one ticket, and each
 * ticket's webhook message arrived under the one key the outbox holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { chaosRunnable, checkPipeline, scatteredPlaces, startPrivateServices, streamReadings, type PrivateServices } from '../support/chaos.js';
import { spawnStages, type StageProcess } from '../support/distributed.js';
import { cityWithWebhooks, startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';
import { IdempotentReceiver } from '../support/webhook-receiver.js';

const shared = testServices();
const SECRET = 'chaos-webhook-secret-0002';
const PIPELINE_MS = 120_000;
const DEVICES = 6;
const PER_DEVICE = 45;

/** Defined by test/chaos/outages.test.ts, next to the other outages so that their waits overlap. */
export function kafkaRestart(): void {
  describe.skipIf(!chaosRunnable(shared))('chaos: Kafka broker restarted mid-stream', () => {
    const namespace = testNamespace();
    const receiver = new IdempotentReceiver(SECRET);
    let priv: PrivateServices;
    let edge: TestPlatform;
    const stages: StageProcess[] = [];

    beforeAll(async () => {
      priv = await startPrivateServices(shared!, ['kafka']);
      await receiver.up();
      const cityDir = cityWithWebhooks({ north: { url: receiver.url, secret: SECRET }, south: { url: receiver.url, secret: SECRET } });
      const env = distributedEnv(priv.env, namespace);
      for (const stage of ['ingest', 'detectors', 'alerting']) stages.push(spawnStages(stage, { ...env, STREETWATCH_CONFIG: cityDir, STREETWATCH_DATA_DIR: tempDir(stage) }));
      edge = await startTestPlatform({ cityDir, env: { ...env, STREETWATCH_STAGES: 'broker,api' } });
      await Promise.all(stages.map((p) => p.ready));
    }, 180_000);

    afterAll(async () => {
      await edge?.stop();
      for (const p of stages) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(stages.map((p) => p.exited));
      await receiver.down();
      if (priv) await dropNamespace(priv.env, namespace).catch(() => undefined);
      await priv?.close();
    }, 120_000);

    it('loses and duplicates nothing across a broker restart', { timeout: PIPELINE_MS * 3 }, async () => {
      const devices = [];
      for (const [i, loc] of scatteredPlaces(DEVICES, 'north').entries()) {
        const id = `kafka-${i}`;
        devices.push({ id, secret: await edge.provision(id, loc, 'smoke') });
      }
      const t0 = Date.now() - 60_000;
      const stream = streamReadings({ mqttUrl: edge.mqttUrl, devices, metric: 'smoke', value: () => 50, count: PER_DEVICE, t0, stepMs: 1_000, paceMs: 100 });
      const total = DEVICES * PER_DEVICE;
      await waitFor(() => stream.ackedTotal() >= total / 4 || undefined, 'a quarter of the readings acknowledged', PIPELINE_MS);
      await priv.stop('kafka');
      await priv.start('kafka');
      await waitFor(() => stream.ackedTotal() === total || undefined, `every reading acknowledged after the restart (acked ${JSON.stringify([...stream.acked])}, ${stream.resent()} resent)`, PIPELINE_MS).catch((err: Error) => {
        throw new Error(`${err.message}\n${stages.map((p) => p.output().slice(-3000)).join('\n----\n')}`);
      });
      await stream.done;
      expect(stream.ackedTotal()).toBe(total);
      // Each stage reconnected on its own: none of them exited.
      for (const p of stages) expect(p.child.exitCode, p.output()).toBeNull();
      await checkPipeline({ edge, services: priv.env, namespace, prefix: 'kafka-', acked: total, ticketDevices: devices.map((d) => d.id), receiver, from: t0 - 1_000, to: t0 + PER_DEVICE * 1_000 + 1_000, ms: PIPELINE_MS });
    });
  });
}
