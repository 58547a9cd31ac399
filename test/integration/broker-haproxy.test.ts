/**
 * Three broker nodes in processes of their own behind HAProxy (infra/local/haproxy-cfg), with
 * ingest, detectors, alerting and the API in this process, all on the Kafka, InfluxDB and Redis
 * of infra/local: what a device or a sub-center sees is the same whichever node HAProxy gave it.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { HAPROXY, startClusterBehindHaproxy, type ClusterBehindHaproxy } from '../support/broker-cluster.js';
import { collect, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import fs from 'node:fs';

const services = testServices();
const SITE = { lat: 23.115, lon: 113.335 };
/** In the fixture city's tunnel zone: a water level of 0.8 m there opens a flooding ticket for north. */
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
/** Rebalances of the nodes' consumer groups on a busy 2-core machine. */
const WAIT_MS = 90_000;

describe.skipIf(!services || (!process.env.CI && !fs.existsSync(HAPROXY)))('three broker nodes behind HAProxy, with the other stages', () => {
  const namespace = testNamespace();
  let cluster: ClusterBehindHaproxy;
  let pipeline: TestPlatform;
  const clients: MqttClient[] = [];
  const connect = async (url: string, id: string, password: string): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(url, { clientId: id, username: id.split(':').slice(0, 2).join(':'), password, reconnectPeriod: 0, connectTimeout: 10_000 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const env = distributedEnv(services!, namespace);
    pipeline = await startTestPlatform({ env: { ...env, STREETWATCH_STAGES: 'ingest,detectors,alerting,api' } });
    cluster = await startClusterBehindHaproxy(3, env);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await cluster?.stop();
    await pipeline?.stop();
    if (services) await dropNamespace(services, namespace);
  }, 120_000);

  it('spreads devices over the nodes, and brings each its errors on whichever node it sits', { timeout: WAIT_MS * 2 }, async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `hx-err-${i}`);
    const devices = [];
    for (const id of ids) devices.push(await connect(cluster.url, id, await pipeline.provision(id, SITE)));
    // HAProxy balances on the fewest connections: two devices on each node.
    expect(await cluster.connections()).toEqual([2, 2, 2]);
    const errors = await Promise.all(devices.map((d, i) => collect(d, `v1/devices/${ids[i]}/errors`)));
    await Promise.all(devices.map((d, i) => d.publishAsync(`v1/devices/${ids[i]}/telemetry`, JSON.stringify({ values: { noise: -1e6 } }), { qos: 1 })));
    for (const [i, got] of errors.entries()) {
      await waitFor(() => got.length >= 1 || undefined, `the error of ${ids[i]}`, WAIT_MS);
      expect(got.map((e) => e.json.code)).toEqual(['SW_ERR_METRIC_RANGE']);
    }
    await Promise.all(devices.map((d) => d.endAsync()));
  });

  it('brings a sub-center on node 0 the ticket a device on node 2 caused', { timeout: WAIT_MS * 2 }, async () => {
    const feed = await connect(cluster.nodeUrl(0), 'subcenter:north', await pipeline.unitToken('north'));
    const got = await collect(feed, 'v1/subcenters/north/tickets');
    const device = await connect(cluster.nodeUrl(2), 'hx-wl-1', await pipeline.provision('hx-wl-1', IN_TUNNEL, 'water_level'));
    await device.publishAsync('v1/devices/hx-wl-1/telemetry', JSON.stringify({ values: { water_level: 0.8 } }), { qos: 1 });
    const created = await waitFor(() => got.find((m) => m.json.event === 'ticket.created' && m.json.ticket.alerts?.some((a: { deviceId: string }) => a.deviceId === 'hx-wl-1')), 'the ticket on the feed', WAIT_MS);
    expect(created.json).toMatchObject({ event: 'ticket.created', to: 'north', ticket: { subcenterId: 'north', category: 'flooding' } });
  });

  it('closes the old connection when a device takes its id over on another node', async () => {
    const secret = await pipeline.provision('hx-to-1', SITE);
    const first = await connect(cluster.nodeUrl(0), 'hx-to-1', secret);
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await connect(cluster.nodeUrl(1), 'hx-to-1', secret);
    await closed;
    await second.publishAsync('v1/devices/hx-to-1/telemetry', JSON.stringify({ values: { noise: 44 } }), { qos: 1 });
    expect(second.connected).toBe(true);
    expect(first.connected).toBe(false);
  });
});
