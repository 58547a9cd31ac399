/**
 * Broker processes on one Redis form one broker: a device takes over its session on another
 * node [MQTT-3.1.4-2], and a message for a client reaches it on whichever node it sits (a
 * device's errors, whoever consumed its dead letter). Nodes here are platform instances in this
 * process, each with its own listener, connected only through Kafka and Redis.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { PRESENCE_GRACE_MS } from '../../broker/cluster/presence-registry.js';
import { KafkaBus } from '../../core/bus/kafka.js';
import { createLogger } from '../../core/logger.js';
import { partitionsOf } from '../support/distributed.js';
import { startPlatformProcess } from '../support/platform-process.js';
import { collect, metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const services = testServices();
const SITE = { lat: 23.115, lon: 113.335 };
/** One operator token for every node, as a deployment sets it. */
const OPERATOR_TOKEN = 'operator-token-for-the-cluster-test';

describe.skipIf(!services)('broker nodes on one Redis', () => {
  const namespace = testNamespace();
  const nodes: TestPlatform[] = [];
  let pipeline: TestPlatform;

  beforeAll(async () => {
    const env = (stages: string, node: string): Record<string, string> => ({ ...distributedEnv(services!, namespace), STREETWATCH_STAGES: stages, MQTT_NODE_ID: node, STREETWATCH_OPERATOR_TOKEN: OPERATOR_TOKEN });
    pipeline = await startTestPlatform({ env: env('ingest,api', 'pipeline') });
    for (const node of ['node-a', 'node-b']) nodes.push(await startTestPlatform({ env: env('broker', node) }));
  }, 180_000);

  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await pipeline?.stop();
    await dropNamespace(services!, namespace);
  }, 120_000);

  it('lets a device take over its connection on another node, which closes the old one', async () => {
    const secret = await pipeline.provision('cl-to-1', SITE);
    const first = await nodes[0]!.connect('cl-to-1', secret);
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await nodes[1]!.connect('cl-to-1', secret);
    await closed;
    await second.publishAsync('v1/devices/cl-to-1/telemetry', JSON.stringify({ values: { noise: 44 } }), { qos: 1 });
    expect(second.connected).toBe(true);
    expect(await metricValue(nodes[0]!.platform.metrics.mqttConnections)).toBe(0);
  });

  it('keeps a device online when it moves to another node: the old node reports no offline; once it leaves, one does', async () => {
    // What the nodes report about the device, as the pipeline reads it from sw.raw.
    const reported: string[] = [];
    const bus = new KafkaBus({ brokers: services!.KAFKA_BROKERS.split(','), namespace, logger: createLogger('silent') });
    await bus.connect();
    const sub = await bus.subscribe('sw.raw', `test-presence-${process.pid}`, async (records) => {
      for (const { key, value } of records) if (key === 'cl-pr-1') reported.push(value.topic.endsWith('/status') ? value.payload.toString() : 'reading');
    });
    try {
      const secret = await pipeline.provision('cl-pr-1', SITE);
      const first = await nodes[0]!.connect('cl-pr-1', secret);
      const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
      const second = await nodes[1]!.connect('cl-pr-1', secret);
      await closed;
      // Past the grace period, a reading of the device's: the reports before it are on the bus before it (same key).
      await new Promise((r) => setTimeout(r, PRESENCE_GRACE_MS + 1_000));
      await second.publishAsync('v1/devices/cl-pr-1/telemetry', JSON.stringify({ values: { noise: 45 } }), { qos: 1 });
      await waitFor(() => reported.includes('reading') || undefined, 'the reading on sw.raw', 30_000);
      expect(reported).toEqual(['online', 'online', 'reading']);
      expect((await pipeline.api('GET', '/api/devices/cl-pr-1')).body.status).toBe('online');
      await second.endAsync();
      await waitFor(() => reported.length === 4 || undefined, 'the report of its leaving', 30_000);
      expect(reported[3]).toBe('offline');
    } finally {
      await sub.close();
      await bus.close();
    }
  });

  it('brings a device its errors on whichever node it is connected', async () => {
    for (const [i, node] of nodes.entries()) {
      const id = `cl-err-${i}`;
      const device = await node.connect(id, await pipeline.provision(id, SITE));
      const errors = await collect(device, `v1/devices/${id}/errors`);
      for (let k = 0; k < 4; k++) await device.publishAsync(`v1/devices/${id}/telemetry`, JSON.stringify({ values: { noise: -1e6 } }), { qos: 1 });
      await waitFor(() => errors.length >= 4 || undefined, `the errors of ${id} on ${node.platform.config.mqtt.nodeId}`, 60_000);
      expect(errors.every((e) => e.json.code === 'SW_ERR_METRIC_RANGE')).toBe(true);
    }
  });

  it('feeds an operator on one node the readings of devices on another, whichever node consumes them', async () => {
    // One device per partition of sw.readings: each partition is consumed by one node or the other.
    const candidates = Array.from({ length: 40 }, (_, i) => `cl-op-${i}`);
    const partitions = await partitionsOf(services!, `${namespace}sw.readings`, candidates);
    const ids = [...new Map(candidates.map((id) => [partitions.get(id)!, id])).values()];
    expect(ids.length).toBeGreaterThan(1);
    const operator = await mqtt.connectAsync(nodes[1]!.mqttUrl, { clientId: 'operator:flows', username: 'operator:flows', password: OPERATOR_TOKEN, reconnectPeriod: 0 });
    try {
      const feed: { deviceId: string }[] = [];
      operator.on('message', (_topic, payload) => feed.push(JSON.parse(payload.toString())));
      await operator.subscribeAsync('v1/operators/readings/noise/+', { qos: 0 });
      const devices = await Promise.all(ids.map(async (id) => ({ id, client: await nodes[0]!.connect(id, await pipeline.provision(id, SITE)) })));
      const reached = (id: string): boolean => feed.some((m) => m.deviceId === id);
      // A node learns of an operator on another within a refresh or so: publish until each device's readings arrive.
      for (let round = 0; !ids.every(reached); round++) {
        if (round === 60) throw new Error(`no reading of ${ids.filter((id) => !reached(id)).join(', ')} reached the operator`);
        await Promise.all(devices.filter(({ id }) => !reached(id)).map(({ id, client }) => client.publishAsync(`v1/devices/${id}/telemetry`, JSON.stringify({ values: { noise: 50 + round } }), { qos: 1 })));
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await operator.endAsync();
    }
  }, 90_000);

  it('reports offline the devices of a node killed with SIGKILL, once it stops beating, but not a device that moved on', async () => {
    const reported = new Map<string, string[]>();
    const bus = new KafkaBus({ brokers: services!.KAFKA_BROKERS.split(','), namespace, logger: createLogger('silent') });
    await bus.connect();
    const sub = await bus.subscribe('sw.raw', `test-sweep-${process.pid}`, async (records) => {
      for (const { key, value } of records) if (value.topic.endsWith('/status')) reported.set(key, [...(reported.get(key) ?? []), value.payload.toString()]);
    });
    const doomed = await startPlatformProcess({ stages: 'broker', env: { ...distributedEnv(services!, namespace), MQTT_NODE_ID: 'node-doomed' } });
    try {
      const [stays, moves] = ['cl-sw-stays', 'cl-sw-moves'];
      const secrets = { [stays]: await pipeline.provision(stays, SITE), [moves]: await pipeline.provision(moves, SITE) };
      const on = `mqtt://127.0.0.1:${doomed.mqttPort}`;
      const clients = await Promise.all([stays, moves].map((id) => mqtt.connectAsync(on, { clientId: id, username: id, password: secrets[id], reconnectPeriod: 0 })));
      for (const c of clients) c.on('error', () => undefined);
      await waitFor(() => (reported.get(stays)?.length && reported.get(moves)?.length) || undefined, 'both devices reported online', 30_000);
      doomed.proc.child.kill('SIGKILL');
      await doomed.proc.exited;
      // The moving device is back through another node long before three beats are missed.
      await nodes[0]!.connect(moves, secrets[moves]!);
      await waitFor(() => reported.get(stays)?.includes('offline') || undefined, 'the killed node swept', 60_000);
      await waitFor(() => (reported.get(moves)?.length ?? 0) >= 2 || undefined, 'the moved device reported online again', 30_000);
      expect(reported.get(stays)).toEqual(['online', 'offline']);
      expect(reported.get(moves)).toEqual(['online', 'online']);
      for (const c of clients) c.end(true);
    } finally {
      await doomed.stop();
      await sub.close();
      await bus.close();
    }
  }, 120_000);
});
