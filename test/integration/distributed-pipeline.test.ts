/**
 * The distributed pipeline: broker + API, ingest, two detector instances and two alerting
 * instances, connected only through Kafka, InfluxDB and Redis. Ingest runs as its own Node
 * process so it can be killed for real; the others are separate platform instances in this
 * process. Devices are real MQTT clients; the webhook receiver is a real HTTP server.
 */
import { flux } from '@influxdata/influxdb-client';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../alerting/signature.js';
import type { Platform } from '../../app/platform.js';
import type { Ticket } from '../../core/schemas.js';
import { distributedEnv, dropNamespace, measurementOf, testNamespace, testServices } from '../support/backends.js';
import { fluxRows, membersWithPartitions, partitionsOf, spawnStages, type StageProcess } from '../support/distributed.js';
import { cityWithWebhooks, startTestPlatform, startWebhookReceiver, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

const services = testServices();
const NORTH_SECRET = 'north-webhook-secret-0001';
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };
/** Generous: several consumer groups join on a 2-core machine shared with Kafka itself. */
const PIPELINE_MS = 60_000;

async function handled(p: Platform, topic: string): Promise<number> {
  const { values } = await p.metrics.busRecords.get();
  return values.filter((v) => v.labels.topic === topic).reduce((sum, v) => sum + v.value, 0);
}

describe.skipIf(!services)('distributed pipeline on Kafka, InfluxDB and Redis', () => {
  const namespace = testNamespace();
  const measurement = measurementOf(namespace);
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let cityDir: string;
  let edge: TestPlatform;
  let detectors: TestPlatform[] = [];
  let alerting: TestPlatform[] = [];
  const ingest: StageProcess[] = [];
  let redis: Redis;

  const env = (stages: string): Record<string, string> => ({ ...distributedEnv(services!, namespace), STREETWATCH_STAGES: stages });
  const startIngest = (): StageProcess => {
    const p = spawnStages('ingest', { ...distributedEnv(services!, namespace), STREETWATCH_CONFIG: cityDir, STREETWATCH_DATA_DIR: tempDir('ingest') });
    ingest.push(p);
    return p;
  };
  const tickets = async (query: string): Promise<Ticket[]> => (await edge.api('GET', `/api/tickets${query}`)).body.tickets;

  beforeAll(async () => {
    hook = await startWebhookReceiver();
    cityDir = cityWithWebhooks({ north: { url: hook.url, secret: NORTH_SECRET } });
    redis = new Redis(services!.REDIS_URL);
    const first = startIngest();
    [alerting, detectors] = await Promise.all([
      Promise.all([1, 2].map(() => startTestPlatform({ cityDir, env: env('alerting') }))),
      Promise.all([1, 2].map(() => startTestPlatform({ cityDir, env: env('detectors') }))),
    ]);
    edge = await startTestPlatform({ cityDir, env: env('broker,api') });
    await first.ready;
  }, 180_000);

  afterAll(async () => {
    await edge?.stop();
    await Promise.all([...detectors, ...alerting].map((p) => p.stop()));
    for (const p of ingest) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.all(ingest.map((p) => p.exited));
    redis?.disconnect();
    await hook?.close();
    await dropNamespace(services!, namespace);
  }, 120_000);

  it('stores readings in InfluxDB and the ticket in Redis, and signs it to the sub-center webhook', { timeout: PIPELINE_MS * 2 }, async () => {
    const ready = await edge.api('GET', '/readyz');
    expect(ready).toMatchObject({ status: 200, body: { ready: true, checks: { broker: true, api: true, kafka: true, redis: true, influxdb: true } } });

    const secret = await edge.provision('wl-tunnel-1', IN_TUNNEL, 'water_level');
    const device = await edge.connect('wl-tunnel-1', secret);
    const t0 = Date.now() - 5_000;
    await device.publishAsync('v1/devices/wl-tunnel-1/telemetry', JSON.stringify({ ts: t0, values: { water_level: 0.12 } }), { qos: 1 });
    await device.publishAsync('v1/devices/wl-tunnel-1/telemetry', JSON.stringify({ ts: t0 + 1, values: { water_level: 0.45 } }), { qos: 1 });

    const [ticket] = await waitFor(async () => {
      const list = await tickets('?subcenter=north');
      return list.length ? list : undefined;
    }, 'a ticket for north', PIPELINE_MS);
    expect(ticket).toMatchObject({ subcenterId: 'north', zoneId: 'north-tunnel', grade: 'B', status: 'dispatched', alerts: [{ deviceId: 'wl-tunnel-1', value: 0.45 }] });
    const inRedis = JSON.parse((await redis.hget(`${namespace}sw:t:${ticket!.id}`, 'body'))!) as Ticket;
    expect(inRedis).toEqual(ticket);
    expect(await redis.get(`${namespace}sw:topen:${ticket!.mergeKey}`)).toBe(ticket!.id);

    const points = await fluxRows<{ _time: string; _value: number; zones: string; subcenter: string }>(
      services!,
      flux`from(bucket: ${services!.INFLUX_BUCKET})
        |> range(start: ${new Date(t0 - 1_000)})
        |> filter(fn: (r) => r._measurement == ${measurement} and r.device == "wl-tunnel-1" and r._field == "value")`,
    );
    expect(points.map((p) => [Date.parse(p._time) - t0, p._value, p.zones, p.subcenter])).toEqual([
      [0, 0.12, 'north-tunnel', 'north'],
      [1, 0.45, 'north-tunnel', 'north'],
    ]);

    const delivery = await waitFor(() => hook.received.find((h) => JSON.parse(h.body).ticket.id === ticket!.id), 'the webhook POST', PIPELINE_MS);
    expect(verifySignature(delivery.body, NORTH_SECRET, delivery.headers['x-streetwatch-signature'] as string)).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({ event: 'ticket.created', ticket: { id: ticket!.id, subcenterId: 'north' } });
  });

  it('splits readings between two detector instances and merges every alert into one ticket', { timeout: PIPELINE_MS * 2 }, async () => {
    await waitFor(async () => (await membersWithPartitions(services!, `${namespace}detectors.sw.readings`)) === 2 || undefined, 'both detector instances holding partitions', PIPELINE_MS);
    // Two devices per partition of sw.readings, so each instance has some of them, whichever
    // partitions it holds.
    const candidates = Array.from({ length: 64 }, (_, i) => `wl-storm-${String(i).padStart(2, '0')}`);
    const partitionOf = await partitionsOf(services!, `${namespace}sw.readings`, candidates);
    const perPartition = new Map<number, string[]>();
    for (const [id, p] of partitionOf) if ((perPartition.get(p) ?? []).length < 2) perPartition.set(p, [...(perPartition.get(p) ?? []), id]);
    const storm = [...perPartition.values()].flat();
    expect(perPartition.size).toBeGreaterThanOrEqual(2);

    const before = await Promise.all(detectors.map((d) => handled(d.platform, 'sw.readings')));
    const clients: MqttClient[] = [];
    for (const id of storm) clients.push(await edge.connect(id, await edge.provision(id, IN_TUNNEL, 'water_level')));
    const t0 = Date.now() - 5_000;
    await Promise.all(
      clients.map(async (c, i) => {
        const topic = `v1/devices/${storm[i]}/telemetry`;
        await c.publishAsync(topic, JSON.stringify({ ts: t0, values: { water_level: 0.1 } }), { qos: 1 });
        await c.publishAsync(topic, JSON.stringify({ ts: t0 + 1, values: { water_level: 0.5 + i / 100 } }), { qos: 1 });
      }),
    );

    const merged = await waitFor(async () => {
      const open = await tickets('?subcenter=north');
      const t = open[0];
      return open.length === 1 && t && storm.every((id) => t.alerts.some((a) => a.deviceId === id)) ? t : undefined;
    }, 'every storm alert merged into the open tunnel ticket', PIPELINE_MS);
    expect(merged.alerts.filter((a) => a.deviceId.startsWith('wl-storm-'))).toHaveLength(storm.length);
    expect(await tickets('')).toHaveLength(1);
    const after = await Promise.all(detectors.map((d) => handled(d.platform, 'sw.readings')));
    expect(after.map((n, i) => n - before[i]!).every((n) => n > 0)).toBe(true);
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(storm.length * 2);
  });

  it('takes an HTTP ingest batch through Kafka to the ingest process and answers it from Redis, once per batch id', { timeout: PIPELINE_MS * 2 }, async () => {
    await edge.api('POST', '/api/devices', { id: 'fire-platform', kind: 'system', location: IN_SOUTH });
    await edge.api('POST', '/api/devices', { id: 'fire-smoke-7', kind: 'smoke', location: IN_SOUTH, gateway: 'fire-platform' });
    const token = (await edge.api('POST', '/api/ingest-tokens', { device: 'fire-platform' })).body.token as string;
    const t0 = Date.now() - 10_000;
    const batch = { batchId: 'fire-0001', records: [{ deviceId: 'fire-smoke-7', ts: t0, values: { smoke: 2, battery_v: 3.7 } }, { deviceId: 'fire-smoke-7', ts: t0 + 1000, values: { smoke: 250 } }] };
    const post = async () => {
      const res = await fetch(`http://127.0.0.1:${edge.platform.httpPort}/api/ingest/telemetry`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(batch) });
      return { status: res.status, body: (await res.json()) as any };
    };
    // Until ingest has reported, the answer is 202 and the same request asks again.
    const answer = await waitFor(async () => {
      const res = await post();
      return res.status === 200 ? res.body : undefined;
    }, 'the answer to the batch', PIPELINE_MS);
    expect(answer).toMatchObject({ batchId: 'fire-0001', records: 2, stored: 2, refused: 1 });
    expect(answer.results.map((r: { stored: number; errors: { code: string }[] }) => [r.stored, r.errors.map((e) => e.code)])).toEqual([
      [2, []],
      [0, ['SW_ERR_METRIC_RANGE']],
    ]);
    expect(await post()).toMatchObject({ status: 200, body: { ...answer, replayed: true } });
    const stored = await edge.platform.series.query({ deviceId: 'fire-smoke-7', from: t0 - 1, to: t0 + 60_000 });
    expect(stored.map((r) => [r.metric, r.value]).sort()).toEqual([
      ['battery_v', 3.7],
      ['smoke', 2],
    ]);
  });

  it('loses nothing acknowledged when ingest is killed mid-stream and restarted', { timeout: PIPELINE_MS * 3 }, async () => {
    const ids = ['noise-1', 'noise-2', 'noise-3', 'noise-4', 'noise-5'];
    const perDevice = 200;
    const total = ids.length * perDevice;
    const clients: MqttClient[] = [];
    for (const id of ids) clients.push(await edge.connect(id, await edge.provision(id, IN_SOUTH, 'noise')));
    const t0 = Date.now() - 60_000;
    let acked = 0;
    const publishing = Promise.all(
      clients.map(async (c, d) => {
        for (let i = 0; i < perDevice; i++) {
          await c.publishAsync(`v1/devices/${ids[d]}/telemetry`, JSON.stringify({ ts: t0 + i, values: { noise: 40 + (i % 25) } }), { qos: 1 });
          acked++;
        }
      }),
    );

    await waitFor(() => acked >= total / 3 || undefined, 'a third of the publishes acknowledged', PIPELINE_MS);
    const first = ingest.at(-1)!;
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // With ingest down the broker goes on acknowledging: Kafka holds the publishes.
    await waitFor(() => acked >= (2 * total) / 3 || undefined, 'two thirds acknowledged with ingest down', PIPELINE_MS);
    const second = startIngest();
    await second.ready;
    await publishing;
    expect(acked).toBe(total);

    const count = async (): Promise<number> => {
      const [row] = await fluxRows<{ _value: number }>(
        services!,
        flux`from(bucket: ${services!.INFLUX_BUCKET})
          |> range(start: ${new Date(t0 - 1_000)}, stop: ${new Date(t0 + perDevice + 1_000)})
          |> filter(fn: (r) => r._measurement == ${measurement} and r.metric == "noise" and r._field == "value")
          |> group()
          |> count()`,
      );
      return row?._value ?? 0;
    };
    await waitFor(async () => ((await count()) >= total ? true : undefined), 'every acknowledged reading in InfluxDB', PIPELINE_MS);
    // Replayed batches rewrote the same points: exactly one per acknowledged publish.
    expect(await count()).toBe(total);

    // SIGTERM drains: the batch in hand finishes and is committed, then the process exits 0.
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});
