/**
 * Who may hold a connection and what it leaves behind, over real sockets: client ids, the
 * takeover of a client id, wills checked at CONNECT, sessions, and `$SYS` closed to clients.
 */
import mqtt from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { RawMqtt } from '../support/raw-mqtt.js';

const SITE = { lat: 23.115, lon: 113.335 };

describe('broker sessions and identity', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    await sw?.stop();
  });

  const rawConnect = async (opts: Parameters<RawMqtt['connect']>[0]) => {
    const raw = await RawMqtt.open(sw.platform.mqttPort!);
    try {
      return await raw.connect(opts);
    } finally {
      raw.close();
    }
  };

  it('refuses client ids with wildcards, separators, NUL or an object-prototype name, with CONNACK 2', async () => {
    const secret = await sw.provision('id-ok', SITE);
    for (const clientId of ['id+ok', 'id#', 'id/ok', 'id\u0000ok', '__proto__', 'subcenter:__proto__', ' id-ok', 'x'.repeat(65)]) {
      expect({ clientId, rc: (await rawConnect({ clientId, username: clientId, password: secret })).returnCode }).toEqual({ clientId, rc: 2 });
    }
    expect(await metricValue(sw.platform.metrics.mqttAuthFailures, { code: 'SW_ERR_CLIENT_ID_INVALID' })).toBe(8);
  });

  it('refuses an empty client id with CONNACK 2 (identifier rejected), not as bad credentials [MQTT-3.1.3-8]', async () => {
    const secret = await sw.provision('id-empty', SITE);
    const failures = await metricValue(sw.platform.metrics.mqttAuthFailures, { code: 'SW_ERR_CLIENT_ID_INVALID' });
    expect((await rawConnect({ clientId: '', username: 'id-empty', password: secret })).returnCode).toBe(2);
    // With clean session 0 too (written byte for byte: MQTT.js and mqtt-packet refuse to send it).
    const raw = await RawMqtt.open(sw.platform.mqttPort!);
    raw.socket.write(connectPacket({ clientId: Buffer.alloc(0), username: 'id-empty', password: secret, clean: false }));
    const connack = await raw.next((p) => p.cmd === 'connack', 'the CONNACK');
    expect((connack as { returnCode: number }).returnCode).toBe(2);
    raw.close();
    expect(await metricValue(sw.platform.metrics.mqttAuthFailures, { code: 'SW_ERR_CLIENT_ID_INVALID' })).toBe(failures + 2);
  });

  it('closes the connection on a string that is not well-formed UTF-8 [MQTT-1.5.3-1]: a topic, a filter, a will topic, a client id', async () => {
    const secret = await sw.provision('utf-1', SITE);
    // 0xC3 0x28 is an invalid two-byte sequence; 0xED 0xA0 0x80 encodes a surrogate.
    const topics = [Buffer.from([...Buffer.from('v1/devices/utf-1/tele'), 0xc3, 0x28]), Buffer.from([...Buffer.from('v1/devices/utf-1/'), 0xed, 0xa0, 0x80])];
    const rejected = await metricValue(sw.platform.metrics.rejected, { code: 'SW_ERR_MQTT_MALFORMED' });
    const sent: Buffer[] = [];
    for (const topic of topics) {
      // A PUBLISH and a SUBSCRIBE with the bad topic, written byte for byte (no client library would).
      const payload = Buffer.from('{"values":{"noise":40}}');
      sent.push(Buffer.concat([Buffer.from([0x30, 2 + topic.length + payload.length, 0, topic.length]), topic, payload]));
      sent.push(Buffer.concat([Buffer.from([0x82, 2 + 2 + topic.length + 1, 0, 1, 0, topic.length]), topic, Buffer.from([1])]));
    }
    for (const packet of sent) {
      const raw = await RawMqtt.open(sw.platform.mqttPort!);
      expect((await raw.connect({ clientId: 'utf-1', username: 'utf-1', password: secret })).returnCode).toBe(0);
      raw.socket.write(packet);
      await raw.closed;
      expect(raw.received.map((p) => p.cmd)).toEqual(['connack']);
    }
    // The same in a CONNECT: the will topic, then the client id. Nothing is answered.
    for (const packet of [connectPacket({ clientId: Buffer.from('utf-1'), willTopic: topics[0], username: 'utf-1', password: secret }), connectPacket({ clientId: Buffer.from([0x75, 0xc3, 0x28]), username: 'utf-1', password: secret })]) {
      const raw = await RawMqtt.open(sw.platform.mqttPort!);
      raw.socket.write(packet);
      await raw.closed;
      expect(raw.received).toEqual([]);
    }
    expect(await metricValue(sw.platform.metrics.rejected, { code: 'SW_ERR_MQTT_MALFORMED' })).toBe(rejected + 6);
    // A valid U+FFFD (EF BF BD) is well-formed: the connection stays, the publish is refused by the ACL as any topic outside the contract.
    const device = await sw.connect('utf-1', secret);
    const errors = await collect(device, 'v1/devices/utf-1/errors');
    await device.publishAsync('v1/devices/utf-1/\uFFFD', '{}', { qos: 1 });
    await waitFor(() => errors.length >= 1 || undefined, 'the refusal of the U+FFFD topic');
    expect(device.connected).toBe(true);
  });

  it('closes the connection on a topic with U+0000 [MQTT-1.5.3-2]: in a will, a publish or a subscription', async () => {
    const secret = await sw.provision('nul-1', SITE);
    const willed = await RawMqtt.open(sw.platform.mqttPort!);
    willed.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'nul-1', username: 'nul-1', password: Buffer.from(secret), will: { topic: 'v1/devices/nul-1/sta\u0000tus', payload: Buffer.from('offline'), qos: 1, retain: false } });
    await willed.closed;
    expect(willed.received).toEqual([]);
    const packets: Packet[] = [
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/devices/nul-1/err\u0000ors', qos: 1 }] },
      { cmd: 'publish', messageId: 1, topic: 'v1/devices/nul-1/tele\u0000metry', payload: Buffer.from('{}'), qos: 1, retain: false, dup: false },
    ];
    for (const packet of packets) {
      const raw = await RawMqtt.open(sw.platform.mqttPort!);
      expect((await raw.connect({ clientId: 'nul-1', username: 'nul-1', password: secret })).returnCode).toBe(0);
      raw.send(packet);
      await raw.closed;
      expect(raw.received.map((p) => p.cmd)).toEqual(['connack']);
    }
  });

  it('treats device ids that name Object.prototype members as plain ids', async () => {
    for (const id of ['constructor', 'toString', 'hasOwnProperty']) {
      const device = await sw.connect(id, await sw.provision(id, SITE));
      await device.publishAsync(`v1/devices/${id}/telemetry`, JSON.stringify({ values: { noise: 42, constructor: 1 } }), { qos: 1 });
      await sw.settled();
      const stored = await sw.platform.series.query({ deviceId: id, from: 0, to: Date.now() + 60_000 });
      expect(stored.map((r) => [r.metric, r.value]).sort()).toEqual([
        ['constructor', 1],
        ['noise', 42],
      ]);
      expect((await sw.api('GET', `/api/devices/${id}`)).body).toMatchObject({ id, status: 'online' });
    }
  });

  it('lets a connection with the same credentials take over a client id, and nobody else', async () => {
    const secret = await sw.provision('to-1', SITE);
    const first = await sw.connect('to-1', secret);
    // A wrong secret does not disturb the connection in place.
    expect((await rawConnect({ clientId: 'to-1', username: 'to-1', password: 'not-the-secret' })).returnCode).toBe(4);
    await first.publishAsync('v1/devices/to-1/telemetry', JSON.stringify({ values: { noise: 41 } }), { qos: 1 });
    expect(first.connected).toBe(true);

    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await sw.connect('to-1', secret);
    await closed;
    expect(await metricValue(sw.platform.metrics.mqttTakeovers)).toBe(1);
    await second.publishAsync('v1/devices/to-1/telemetry', JSON.stringify({ ts: Date.now() - 1000, values: { noise: 43 } }), { qos: 1 });
    await sw.settled();
    expect((await sw.api('GET', '/api/devices/to-1')).body.status).toBe('online');
  });

  it('checks a will at CONNECT like a publish, and refuses the connection (CONNACK 5) if it could not be published', async () => {
    const secret = await sw.provision('wl-1', SITE);
    await sw.provision('wl-victim', SITE);
    const will = (topic: string) => ({ topic, payload: Buffer.from('offline'), qos: 1 as const, retain: true });
    for (const topic of ['v1/devices/wl-victim/status', 'v1/devices/wl-1/errors', '$SYS/broker/new/clients', 'v1/subcenters/north/tickets', 'v1/devices/wl-1/#', 'v1/devices/wl-1/+', 'v1/devices/wl-1/status/#']) {
      expect({ topic, rc: (await rawConnect({ clientId: 'wl-1', username: 'wl-1', password: secret, will: will(topic) })).returnCode }).toEqual({ topic, rc: 5 });
    }
    expect((await rawConnect({ clientId: 'wl-1', username: 'wl-1', password: secret, will: will('v1/devices/wl-1/status') })).returnCode).toBe(0);
    // A feed client may publish nothing, so it may have no will either.
    const north = await sw.unitToken('north');
    expect((await rawConnect({ clientId: 'subcenter:north', username: 'subcenter:north', password: north, will: will('v1/subcenters/north/tickets') })).returnCode).toBe(5);
    expect(await metricValue(sw.platform.metrics.mqttAuthFailures, { code: 'SW_ERR_TOPIC_FORBIDDEN' })).toBe(8);
  });

  it('keeps no session for a device, and keeps one for a feed client', async () => {
    const secret = await sw.provision('ss-1', SITE);
    const first = await rawConnect({ clientId: 'ss-1', username: 'ss-1', password: secret, clean: false });
    expect(first).toEqual({ returnCode: 0, sessionPresent: false });
    expect(await rawConnect({ clientId: 'ss-1', username: 'ss-1', password: secret, clean: false })).toEqual({ returnCode: 0, sessionPresent: false });

    const token = await sw.unitToken('south');
    const feed = { clientId: 'subcenter:south', username: 'subcenter:south', password: token, clean: false };
    const raw = await RawMqtt.open(sw.platform.mqttPort!);
    expect(await raw.connect(feed)).toEqual({ returnCode: 0, sessionPresent: false });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/subcenters/south/tickets', qos: 1 }] });
    await raw.next((p) => p.cmd === 'suback', 'the SUBACK');
    raw.close();
    await raw.closed;
    expect(await rawConnect(feed)).toEqual({ returnCode: 0, sessionPresent: true });
  });

  it('keeps clients out of $SYS: a forged takeover announcement disconnects nobody', async () => {
    const victim = await sw.connect('sys-victim', await sw.provision('sys-victim', SITE));
    const mallory = await sw.connect('sys-mallory', await sw.provision('sys-mallory', SITE));
    const errors = await collect(mallory, 'v1/devices/sys-mallory/errors');
    // Were it published, aedes would read it as another broker taking sys-victim over and close it.
    await mallory.publishAsync('$SYS/another-broker/new/clients', 'sys-victim', { qos: 1 });
    await waitFor(() => errors.length >= 1 || undefined, 'the refusal');
    expect(errors[0]!.json).toMatchObject({ code: 'SW_ERR_TOPIC_FORBIDDEN', topic: '$SYS/another-broker/new/clients' });
    await victim.publishAsync('v1/devices/sys-victim/telemetry', JSON.stringify({ values: { noise: 40 } }), { qos: 1 });
    expect(victim.connected).toBe(true);

    const feed = await mqtt.connectAsync(sw.mqttUrl, { clientId: 'subcenter:north', username: 'subcenter:north', password: await sw.unitToken('north'), reconnectPeriod: 0 });
    const granted = await feed.subscribeAsync(['$SYS/#', '$SYS/+/new/clients', '$SW/quarantine']).then(
      (g) => g.map((s) => s.qos),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
    );
    expect(granted).toEqual([128, 128, 128]);
    await feed.endAsync();
  });
});

/** A 3.1.1 CONNECT written byte for byte, for what client libraries refuse to send. */
function connectPacket(opts: { clientId: Buffer; username: string; password: string; clean?: boolean; willTopic?: Buffer }): Buffer {
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  const flags = ((opts.clean ?? true) ? 0x02 : 0) | (opts.willTopic ? 0x04 : 0) | 0x80 | 0x40;
  const will = opts.willTopic ? [str(opts.willTopic), str(Buffer.from('offline'))] : [];
  const body = Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([4, flags, 0, 60]), str(opts.clientId), ...will, str(Buffer.from(opts.username)), str(Buffer.from(opts.password))]);
  if (body.length > 127) throw new Error('test CONNECT too long for one length byte');
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}
