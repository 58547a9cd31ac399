/**
 * Issue 18: behind HAProxy, one address's connections are spread over the broker nodes; its
 * connection rate and login lockout must be the cluster's, not each node's. Two real nodes on
 * the Redis of infra/local, real HAProxy (PROXY protocol names each client's address); clients
 * come from loopback addresses of their own, which STREETWATCH_LIMIT_LOOPBACK subjects to the
 * limits.
 */
import fs from 'node:fs';
import net from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { HAPROXY, startClusterBehindHaproxy, type ClusterBehindHaproxy } from '../support/broker-cluster.js';

const services = testServices();
const CONNECT_BURST = 4;
const PUBLISH_BURST = 5;
const PUBLISH_LIMITED = 'streetwatch_limited_total{limit="mqtt_publish_rate"}';

/** The CONNACK return code a connection from `localAddress` got, or 'closed' when it was refused at the door. */
function probe(port: number, localAddress: string, clientId = 'cl-probe'): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
      s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 30, username: clientId, password: Buffer.from('not-the-secret') }));
    });
    let got = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length < 4) return;
      resolve(got[3]!);
      s.destroy();
    });
    s.once('close', () => resolve('closed'));
    s.on('error', () => undefined);
  });
}

describe.skipIf(!services || (!process.env.CI && !fs.existsSync(HAPROXY)))('address limits across broker nodes behind HAProxy', () => {
  const namespace = testNamespace();
  let cluster: ClusterBehindHaproxy;

  beforeAll(async () => {
    cluster = await startClusterBehindHaproxy(2, {
      ...distributedEnv(services!, namespace),
      STREETWATCH_LIMIT_LOOPBACK: 'true',
      MQTT_CONNECT_RATE: '1',
      MQTT_CONNECT_BURST: String(CONNECT_BURST),
      STREETWATCH_LOGIN_FAILURE_BURST: '2',
      STREETWATCH_LOGIN_FAILURE_REFILL: '1h',
      MQTT_PUBLISH_RATE: '1',
      MQTT_PUBLISH_BURST: String(PUBLISH_BURST),
    });
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
    if (services) await dropNamespace(services, namespace);
  }, 120_000);

  it('refuses one address\'s burst beyond the one cluster-wide limit, however HAProxy spreads it', { timeout: 60_000 }, async () => {
    // All at once, so HAProxy (leastconn) spreads them over both nodes; each node alone would
    // admit CONNECT_BURST of them. A token may come back while they arrive (1 per second).
    const got = await Promise.all(Array.from({ length: CONNECT_BURST * 2 + 2 }, () => probe(Number(new URL(cluster.url).port), '127.0.0.21')));
    const admitted = got.filter((r) => r !== 'closed').length;
    expect(admitted).toBeGreaterThanOrEqual(CONNECT_BURST);
    expect(admitted).toBeLessThanOrEqual(CONNECT_BURST + 1);
    // Another address is not held to the first one's rate.
    expect(await probe(Number(new URL(cluster.url).port), '127.0.0.22')).not.toBe('closed');
  });

  it('locks an address out on node B once it failed its logins on node A', { timeout: 60_000 }, async () => {
    // Straight to the nodes (a connection without a PROXY header counts its own address).
    expect(await probe(cluster.nodes[0]!.mqttPort, '127.0.0.23')).toBe(4);
    expect(await probe(cluster.nodes[0]!.mqttPort, '127.0.0.23')).toBe(4);
    // Refused before its credentials are looked at: 3, server unavailable (retry later).
    expect(await probe(cluster.nodes[1]!.mqttPort, '127.0.0.23')).toBe(3);
    expect(await probe(cluster.nodes[1]!.mqttPort, '127.0.0.24')).toBe(4);
  });

  it('holds a device to its publish rate when it moves to another node', { timeout: 90_000 }, async () => {
    const id = 'cl-pub-1';
    const secret = await cluster.nodes[0]!.provision(id, { lat: 23.115, lon: 113.335 });
    const on = (i: number) => mqtt.connectAsync(cluster.nodeUrl(i), { clientId: id, username: id, password: secret, reconnectPeriod: 0, connectTimeout: 10_000 });
    const publish = (c: mqtt.MqttClient, k: number) => c.publishAsync(`v1/devices/${id}/telemetry`, JSON.stringify({ values: { noise: 40 + k } }), { qos: 1 });
    const first = await on(0);
    first.on('error', () => undefined);
    // Its whole burst on node 0: none of it waits.
    for (let k = 0; k < PUBLISH_BURST; k++) await publish(first, k);
    expect(await cluster.nodes[0]!.metric(PUBLISH_LIMITED)).toBe(0);
    await first.endAsync();
    // On node 1 the bucket is the one it emptied (1 token a second since): each node counting
    // its own would let these through at once.
    const second = await on(1);
    second.on('error', () => undefined);
    try {
      for (let k = 0; k < 3; k++) await publish(second, k);
      expect(await cluster.nodes[1]!.metric(PUBLISH_LIMITED)).toBeGreaterThanOrEqual(1);
    } finally {
      await second.endAsync();
    }
  });
});
