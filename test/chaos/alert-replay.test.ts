/**
 * Alerting replays, on the distributed mode with real Kafka, Redis and InfluxDB: devices fire,
 * clear and fire again (fire → resolve → fire, six times each) while the alerting process is
 * killed with SIGKILL mid-stream and restarted; then the whole of `sw.alerts` is replayed to a
 * fresh alerting process (its consumer group reset to the earliest offset), as a crash before
 * any commit would. Counted afterwards: each alert applied once (the ticket's firings, its
 * timeline), each webhook Idempotency-Key processed once at a real receiver, and the replay
 * sends nothing and changes nothing.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { chaosRunnable, streamReadings, waitForDrained } from '../support/chaos.js';
import { spawnStages, type StageProcess } from '../support/distributed.js';
import { cityWithWebhooks, startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';
import { IdempotentReceiver } from '../support/webhook-receiver.js';

const services = testServices();
const SECRET = 'chaos-replay-webhook-secret';
const PIPELINE_MS = 90_000;
const IN_TUNNEL = [
  { lat: 23.145, lon: 113.315 },
  { lat: 23.1452, lon: 113.3152 },
  { lat: 23.1448, lon: 113.3148 },
];
/** Readings per device, alternating alarm (0.5) and normal (0.1): six firings and six recoveries. */
const PER_DEVICE = 12;

describe.skipIf(!chaosRunnable(services))('chaos: alerting replays after a kill -9 and a full redelivery', () => {
  const namespace = testNamespace();
  const receiver = new IdempotentReceiver(SECRET);
  let cityDir: string;
  let edge: TestPlatform;
  let alerting: StageProcess;
  const all: StageProcess[] = [];
  const env = (): Record<string, string> => ({ ...distributedEnv(services!, namespace), STREETWATCH_CONFIG: cityDir, STREETWATCH_DATA_DIR: tempDir('replay') });
  const spawn = (stages: string): StageProcess => {
    const p = spawnStages(stages, env());
    all.push(p);
    return p;
  };

  beforeAll(async () => {
    await receiver.up();
    cityDir = cityWithWebhooks({ north: { url: receiver.url, secret: SECRET } });
    const pipeline = spawn('ingest,detectors');
    alerting = spawn('alerting');
    edge = await startTestPlatform({ cityDir, env: { ...distributedEnv(services!, namespace), STREETWATCH_STAGES: 'broker,api' } });
    await Promise.all([pipeline.ready, alerting.ready]);
  }, 180_000);

  afterAll(async () => {
    await edge?.stop();
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.all(all.map((p) => p.exited));
    await receiver.down();
    if (services) await dropNamespace(services, namespace);
  }, 120_000);

  it('applies each alert once and sends each webhook key once through a kill -9 and a replay of every alert', { timeout: PIPELINE_MS * 4 }, async () => {
    const devices = [];
    for (const [i, loc] of IN_TUNNEL.entries()) devices.push({ id: `rp-${i}`, secret: await edge.provision(`rp-${i}`, loc, 'water_level') });
    const t0 = Date.now() - 60_000;
    const stream = streamReadings({ mqttUrl: edge.mqttUrl, devices, metric: 'water_level', value: (_d, i) => (i % 2 === 0 ? 0.5 : 0.1), count: PER_DEVICE, t0, stepMs: 1_000, paceMs: 150 });
    await waitFor(() => stream.ackedTotal() >= (devices.length * PER_DEVICE) / 3 || undefined, 'a third of the readings acknowledged', PIPELINE_MS);
    alerting.child.kill('SIGKILL');
    expect(await alerting.exited).toEqual({ code: null, signal: 'SIGKILL' });
    alerting = spawn('alerting');
    await alerting.ready;
    await stream.done;
    await waitForDrained(services!, namespace, PIPELINE_MS);

    const ticketOf = async (): Promise<Ticket> => {
      const list = (await edge.api('GET', '/api/tickets')).body.tickets as Ticket[];
      expect(list).toHaveLength(1);
      return (await edge.api('GET', `/api/tickets/${list[0]!.id}`)).body as Ticket;
    };
    const settled = async (): Promise<Ticket & { delivery: { id: string; state: string }[] }> =>
      waitFor(async () => {
        const t = (await ticketOf()) as Ticket & { delivery: { id: string; state: string }[] };
        return t.firings === devices.length * (PER_DEVICE / 2) && t.delivery.every((m) => m.state === 'delivered') ? t : undefined;
      }, 'every firing applied and every webhook delivered', PIPELINE_MS);
    const before = await settled();
    // Each firing applied once, none twice, whatever the kill redelivered.
    expect(before).toMatchObject({ alertCount: 3, firings: 18 });
    expect([...before.devices].sort()).toEqual(['rp-0', 'rp-1', 'rp-2']);
    const sensorEntries = (t: Ticket): number => t.timeline.filter((e) => e.actor.startsWith('sensor:') && (e.action === 'alert' || e.action === 'alert_resolved' || e.action === 'created')).reduce((n, e) => n + (e.count ?? 1), 0);
    expect(sensorEntries(before)).toBe(36);
    const keysBefore = new Set(before.delivery.map((m) => m.id));
    const requestsBefore = receiver.requests.length;

    // Every alert again, to a fresh alerting process: the group starts over from the earliest offset.
    alerting.child.kill('SIGTERM');
    expect(await alerting.exited).toEqual({ code: 0, signal: null });
    const admin = new Kafka({ clientId: 'streetwatch-test', brokers: services!.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.resetOffsets({ groupId: `${namespace}alerting.sw.alerts`, topic: `${namespace}sw.alerts`, earliest: true });
    } finally {
      await admin.disconnect();
    }
    alerting = spawn('alerting');
    await alerting.ready;
    await waitForDrained(services!, namespace, PIPELINE_MS);
    const after = await settled();
    expect(after.version).toBe(before.version);
    expect(after.timeline).toEqual(before.timeline);
    expect(new Set(after.delivery.map((m) => m.id))).toEqual(keysBefore);
    expect(receiver.requests.length).toBe(requestsBefore);
    for (const key of keysBefore) expect(receiver.processed.get(key), `key ${key}`).toBe(1);
    expect([...receiver.processed.keys()].every((k) => keysBefore.has(k))).toBe(true);
  });
});
