/**
 * Behind HAProxy every connection comes from HAProxy: the per-address connection rate would
 * count the balancer and refuse every device once a few reconnected. HAProxy names each client
 * in a PROXY v2 header (infra/local/haproxy-cfg), and the broker (MQTT_PROXY_PROTOCOL=on)
 * counts the address it names. Clients here come from their own loopback addresses, which
 * STREETWATCH_LIMIT_LOOPBACK subjects to the limits.
 */
import fs from 'node:fs';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAPROXY, startHaproxy, type Haproxy } from '../support/broker-cluster.js';
import { startTestPlatform, type TestPlatform } from '../support/harness.js';

/** What became of a connection from `localAddress`: a CONNACK (admitted) or a close before any (refused at the door). */
function probe(port: number, localAddress: string): Promise<'connack' | 'closed'> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
      s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'pp-probe', clean: true, keepalive: 30, username: 'pp-probe', password: Buffer.from('not-a-secret') }));
    });
    s.once('data', () => {
      resolve('connack');
      s.destroy();
    });
    s.once('close', () => resolve('closed'));
    s.on('error', () => undefined);
  });
}

describe.skipIf(!process.env.CI && !fs.existsSync(HAPROXY))('the per-address connection rate behind HAProxy (PROXY protocol)', () => {
  let sw: TestPlatform;
  let proxy: Haproxy;

  beforeAll(async () => {
    sw = await startTestPlatform({ env: { MQTT_PROXY_PROTOCOL: 'on', STREETWATCH_LIMIT_LOOPBACK: 'true', MQTT_CONNECT_RATE: '1', MQTT_CONNECT_BURST: '2' } });
    proxy = await startHaproxy([{ name: 'node-0', mqttPort: sw.platform.mqttPort!, httpPort: sw.platform.httpPort! }]);
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await sw?.stop();
  });

  it('counts each client by the address HAProxy names, not by HAProxy\'s own', async () => {
    const burst = [];
    for (let i = 0; i < 3; i++) burst.push(await probe(proxy.port, '127.0.0.2'));
    expect(burst).toEqual(['connack', 'connack', 'closed']);
    // Another client through the same HAProxy is not held to the first one's rate.
    expect(await probe(proxy.port, '127.0.0.3')).toBe('connack');
  });

  it('still takes a connection that comes straight to the node, without a header', async () => {
    expect(await probe(sw.platform.mqttPort!, '127.0.0.4')).toBe('connack');
  });
});
