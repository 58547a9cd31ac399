/**
 * Refusals in volume, answered to devices that stop reading: aedes holds a hundred deliveries in
 * flight and queues the rest, and drains its queue recursively. Handed thousands of error
 * messages at once, it overflowed the stack and ended the process; the broker now hands it a
 * bounded number at a time (MAX_MQTT_FANOUT), and the platform keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawMqtt } from '../support/raw-mqtt.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const SITE = { lat: 23.115, lon: 113.335 };
const DEVICES = 60;
const STUCK = 10;

describe('error messages in volume to clients that stop reading', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform({ env: { MQTT_PUBLISH_RATE: '100000', MQTT_PUBLISH_BURST: '100000', MQTT_DRAIN_TIMEOUT: '2s' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('answers every refusal it can and keeps running', { timeout: 120_000 }, async () => {
    const port = Number(new URL(sw.mqttUrl).port);
    const devices: RawMqtt[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const id = `fan-${i}`;
      const secret = await sw.provision(id, SITE);
      const raw = await RawMqtt.open(port);
      expect((await raw.connect({ clientId: id, username: id, password: secret })).returnCode).toBe(0);
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `v1/devices/${id}/errors`, qos: 1 }] });
      await raw.next((p) => p.cmd === 'suback', 'the SUBACK');
      devices.push(raw);
    }
    // Some stop reading: their error messages wait in aedes until the drain timeout.
    for (const d of devices.slice(0, STUCK)) d.socket.pause();
    for (let round = 0; round < 200; round++) {
      for (const [i, d] of devices.entries()) d.send({ cmd: 'publish', topic: `v1/devices/fan-${i}/telemetry`, payload: Buffer.from('{"values":'), qos: 0, retain: false, dup: false });
      if (round % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    await sw.settled();
    // Still serving: a new device's reading is stored, and the API answers.
    const probe = await sw.connect('fan-probe', await sw.provision('fan-probe', SITE));
    await probe.publishAsync('v1/devices/fan-probe/telemetry', JSON.stringify({ values: { noise: 50 } }), { qos: 1 });
    await waitFor(async () => (await sw.platform.series.query({ deviceId: 'fan-probe', from: 0, to: Date.now() + 60_000 })).length === 1 || undefined, 'the probe reading stored', 60_000);
    expect((await sw.api('GET', '/healthz')).status).toBe(200);
    for (const d of devices) d.close();
  });
});
