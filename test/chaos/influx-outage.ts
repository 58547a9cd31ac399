/**
 * InfluxDB down for a minute while devices keep publishing, on a private InfluxDB of this
 * suite (the other suites keep the shared one). Kafka and Redis are the shared servers, in a
 * namespace of this suite.
 *
 * Proves: the broker goes on acknowledging (Kafka holds the publishes); ingest retries the
 * batch in hand and commits no offset for readings not written, so even an ingest killed with
 * SIGKILL during the outage loses nothing; `/readyz` reports InfluxDB down and then back; and
 * once InfluxDB is back every acknowledged reading is stored exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { chaosRunnable, checkPipeline, scatteredPlaces, startPrivateServices, streamReadings, type PrivateServices } from '../support/chaos.js';
import { spawnStages, type StageProcess } from '../support/distributed.js';
import { FIXTURE_CITY, startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

const shared = testServices();
/** The outage the issue asks for. */
const OUTAGE_MS = 60_000;
const PIPELINE_MS = 90_000;
const DEVICES = 4;
/** One reading per device every PACE_MS for longer than the outage: it spans it. */
const PER_DEVICE = 120;
const PACE_MS = 600;

/** Defined by test/chaos/outages.test.ts, next to the other outages so that their waits overlap. */
export function influxOutage(): void {
  describe.skipIf(!chaosRunnable(shared))('chaos: InfluxDB down for a minute', () => {
    const namespace = testNamespace();
    let priv: PrivateServices;
    let edge: TestPlatform;
    const ingest: StageProcess[] = [];

    const env = (): Record<string, string> => distributedEnv(priv.env, namespace);
    const startIngest = (): StageProcess => {
      const p = spawnStages('ingest', { ...env(), STREETWATCH_CONFIG: FIXTURE_CITY, STREETWATCH_DATA_DIR: tempDir('ingest') });
      ingest.push(p);
      return p;
    };
    const ready = async (): Promise<{ influxdb: boolean; kafka: boolean }> => (await edge.api('GET', '/readyz')).body.checks;

    beforeAll(async () => {
      priv = await startPrivateServices(shared!, ['influxdb']);
      const first = startIngest();
      edge = await startTestPlatform({ env: { ...env(), STREETWATCH_STAGES: 'broker,api' } });
      await first.ready;
    }, 180_000);

    afterAll(async () => {
      await edge?.stop();
      for (const p of ingest) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(ingest.map((p) => p.exited));
      if (shared) await dropNamespace(shared, namespace);
      await priv?.close();
    }, 120_000);

    it('stores every acknowledged reading exactly once after the outage, readiness false then true', { timeout: OUTAGE_MS + PIPELINE_MS * 3 }, async () => {
      expect(await ready()).toMatchObject({ influxdb: true, kafka: true });
      const devices = [];
      for (const [i, loc] of scatteredPlaces(DEVICES, 'south').entries()) {
        const id = `outage-${i}`;
        devices.push({ id, secret: await edge.provision(id, loc, 'noise') });
      }
      const t0 = Date.now() - 30_000;
      const stream = streamReadings({ mqttUrl: edge.mqttUrl, devices, metric: 'noise', value: (d, i) => 40 + ((d + i) % 30), count: PER_DEVICE, t0, stepMs: 250, paceMs: PACE_MS });
      await waitFor(() => stream.ackedTotal() >= DEVICES * 10 || undefined, 'readings acknowledged before the outage', PIPELINE_MS);

      await priv.stop('influxdb');
      const downAt = Date.now();
      await waitFor(async () => (await ready()).influxdb === false || undefined, '/readyz to report InfluxDB down', PIPELINE_MS);
      const ackedInOutage = stream.ackedTotal();
      await waitFor(() => stream.ackedTotal() >= ackedInOutage + DEVICES * 10 || undefined, 'the broker acknowledging with InfluxDB down', PIPELINE_MS);

      // Offsets are committed only after the write: a crash now must not skip what was not stored.
      const first = ingest.at(-1)!;
      first.child.kill('SIGKILL');
      await first.exited;
      const second = startIngest();

      await waitFor(() => Date.now() - downAt >= OUTAGE_MS || undefined, 'the end of the outage', OUTAGE_MS + 5_000);
      await priv.start('influxdb');
      await waitFor(async () => (await ready()).influxdb || undefined, '/readyz to report InfluxDB back', PIPELINE_MS);
      await second.ready;
      await stream.done;
      const acked = DEVICES * PER_DEVICE;
      expect(stream.ackedTotal()).toBe(acked);
      await checkPipeline({ edge, services: priv.env, namespace, prefix: 'outage-', acked, ticketDevices: [], from: t0 - 1_000, to: t0 + PER_DEVICE * 250 + 1_000, ms: PIPELINE_MS });
    });
  });
}
