/**
 * MQTT behaviour the platform promises, with two independent clients, MQTT.js and the mosquitto
 * command-line clients (and, where only exact packets will do, a raw client): retained
 * messages, wills, QoS 1 and 2 across reconnects, keep-alive, and the protocol versions taken.
 *
 * Devices may only subscribe to their own errors topic, so retained messages and wills are
 * watched by a test-only observer principal (test/support/observer.ts); persistent sessions are
 * those of sub-center feed clients, the only ones the platform keeps.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/harness.js';
import { OBSERVER_PREFIX, startObservedPlatform, type ObservedPlatform } from '../support/observer.js';
import { RawMqtt } from '../support/raw-mqtt.js';
import { mosquittoClients } from '../support/tools.js';

const exec = promisify(execFile);
const SITE = { lat: 23.115, lon: 113.335 };
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

describe('MQTT protocol behaviour', () => {
  let op: ObservedPlatform;
  let port: string;
  const clients: MqttClient[] = [];
  let observers = 0;

  beforeAll(async () => {
    op = await startObservedPlatform();
    port = String(op.broker.port);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await op?.stop();
  });

  const provision = (id: string, at = SITE, kind = 'sensor') => op.sw.provision(id, at, kind);
  const connect = async (clientId: string, password: string, extra: IClientOptions = {}): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(op.mqttUrl, { clientId, username: clientId.split(':').slice(0, 2).join(':'), password, reconnectPeriod: 0, connectTimeout: 5_000, ...extra });
    clients.push(c);
    return c;
  };
  /** An MQTT.js observer subscribed to `filter`, and what it has received. */
  const observe = async (filter: string): Promise<Seen[]> => {
    const c = await connect(`${OBSERVER_PREFIX}${++observers}`, op.observer.password, { username: op.observer.username });
    const seen: Seen[] = [];
    c.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await c.subscribeAsync(filter, { qos: 1 });
    return seen;
  };
  const observerArgs = () => ['-h', '127.0.0.1', '-p', port, '-i', `${OBSERVER_PREFIX}${++observers}`, '-u', op.observer.username, '-P', op.observer.password];
  const deviceArgs = (id: string, secret: string) => ['-h', '127.0.0.1', '-p', port, '-i', id, '-u', id, '-P', secret];
  const status = async (id: string) => (await op.sw.api('GET', `/api/devices/${id}`)).body.status as string;
  const stored = async (id: string) => {
    await op.sw.settled();
    return (await op.sw.platform.series.query({ deviceId: id, from: 0, to: Date.now() + 60_000 })).map((r) => [r.metric, r.value]);
  };

  describe('retained messages', () => {
    it('keeps a device\'s retained status for new subscribers, flagged retained (MQTT.js)', async () => {
      const dev = await connect('ret-js', await provision('ret-js'));
      await dev.publishAsync('v1/devices/ret-js/status', 'online', { qos: 1, retain: true });
      // Retained elsewhere, it is taken in but not kept: nobody may read those topics.
      await dev.publishAsync('v1/devices/ret-js/telemetry', JSON.stringify({ values: { noise: 40 } }), { qos: 1, retain: true });
      await dev.publishAsync('v1/devices/ret-js/nonsense', 'x', { qos: 1, retain: true });
      // [MQTT-3.3.1-6] a new subscription receives the retained message, [MQTT-3.3.1-8] with RETAIN 1.
      const seen = await observe('v1/devices/ret-js/#');
      await waitFor(() => seen[0], 'the retained status');
      expect(seen).toEqual([{ topic: 'v1/devices/ret-js/status', payload: 'online', retain: true }]);
      expect(await op.retained('v1/devices/ret-js/#')).toEqual([{ topic: 'v1/devices/ret-js/status', payload: 'online' }]);
      expect(await stored('ret-js')).toEqual([['noise', 40]]);
    });

    it.runIf(mosquittoClients.run)('replaces and clears it (mosquitto_pub -r, mosquitto_sub)', async () => {
      mosquittoClients.require();
      const secret = await provision('ret-sh');
      await exec('mosquitto_pub', [...deviceArgs('ret-sh', secret), '-q', '1', '-r', '-t', 'v1/devices/ret-sh/status', '-m', 'online']);
      await exec('mosquitto_pub', [...deviceArgs('ret-sh', secret), '-q', '1', '-r', '-t', 'v1/devices/ret-sh/status', '-m', 'offline']);
      const { stdout } = await exec('mosquitto_sub', [...observerArgs(), '-t', 'v1/devices/ret-sh/#', '-C', '1', '-W', '10', '-F', '%r %t %p'], { timeout: 15_000 });
      expect(stdout.trim()).toBe('1 v1/devices/ret-sh/status offline');
      // [MQTT-3.3.1-10] a zero-byte retained message removes the retained one.
      await exec('mosquitto_pub', [...deviceArgs('ret-sh', secret), '-q', '1', '-r', '-n', '-t', 'v1/devices/ret-sh/status']);
      expect(await op.retained('v1/devices/ret-sh/#')).toEqual([]);
      // And a status too long to be one is not kept.
      await exec('mosquitto_pub', [...deviceArgs('ret-sh', secret), '-q', '1', '-r', '-t', 'v1/devices/ret-sh/status', '-m', 'x'.repeat(100)]);
      expect(await op.retained('v1/devices/ret-sh/#')).toEqual([]);
    });
  });

  describe('wills', () => {
    it('publishes the will when the connection drops, and not after a DISCONNECT (MQTT.js)', async () => {
      const secret = await provision('will-js');
      const seen = await observe('v1/devices/will-js/status');
      const will = { topic: 'v1/devices/will-js/status', payload: Buffer.from('offline'), qos: 1 as const, retain: true };
      const dropped = await connect('will-js', secret, { will });
      await dropped.publishAsync('v1/devices/will-js/status', 'online', { qos: 1, retain: true });
      await waitFor(() => seen.length === 1 || undefined, 'the birth');
      // No DISCONNECT: the socket just goes, as with a power cut [MQTT-3.1.2-8].
      dropped.stream.destroy();
      await waitFor(() => seen.length === 2 || undefined, 'the will');
      // Sent to an established subscription: RETAIN 0 [MQTT-3.3.1-9]; kept as the retained status.
      expect(seen[1]).toEqual({ topic: 'v1/devices/will-js/status', payload: 'offline', retain: false });
      expect(await op.retained('v1/devices/will-js/status')).toEqual([{ topic: 'v1/devices/will-js/status', payload: 'offline' }]);

      const clean = await connect('will-js', secret, { will });
      await clean.publishAsync('v1/devices/will-js/status', 'online', { qos: 1, retain: true });
      await clean.endAsync();
      // [MQTT-3.14.4-3] DISCONNECT discards the will: the next message is the next birth, not a will.
      const next = await connect('will-js', secret);
      await next.publishAsync('v1/devices/will-js/status', 'online', { qos: 1 });
      await waitFor(() => seen.length === 4 || undefined, 'the second birth and the third');
      expect(seen.slice(2).map((s) => s.payload)).toEqual(['online', 'online']);
      expect(await op.retained('v1/devices/will-js/status')).toEqual([{ topic: 'v1/devices/will-js/status', payload: 'online' }]);
    });

    it.runIf(mosquittoClients.run)('publishes a mosquitto client\'s will when it is killed, and refuses a will on another device\'s topic', async () => {
      mosquittoClients.require();
      const secret = await provision('will-sh');
      await provision('will-victim');
      const seen = await observe('v1/devices/will-sh/status');
      const sub = spawn('mosquitto_sub', [
        ...deviceArgs('will-sh', secret),
        '-t',
        'v1/devices/will-sh/errors',
        '--will-topic',
        'v1/devices/will-sh/status',
        '--will-payload',
        'offline',
        '--will-qos',
        '1',
        '--will-retain',
      ]);
      try {
        await waitFor(async () => (await status('will-sh')) === 'online' || undefined, 'the mosquitto device online');
      } finally {
        sub.kill('SIGKILL');
      }
      await waitFor(() => seen.find((s) => s.payload === 'offline'), 'the will of the killed client');
      await waitFor(async () => (await status('will-sh')) === 'offline' || undefined, 'offline');

      const refused = await exec('mosquitto_pub', [...deviceArgs('will-sh', secret), '-q', '1', '-t', 'v1/devices/will-sh/status', '-m', 'online', '--will-topic', 'v1/devices/will-victim/status', '--will-payload', 'offline']).then(
        () => 'published',
        (err: { stderr: string }) => err.stderr,
      );
      expect(refused).toMatch(/not authori[sz]ed/i);
    });
  });

  describe('QoS 1 and 2 across reconnects', () => {
    let north: string;
    let device: MqttClient;
    let tickets = 0;
    beforeAll(async () => {
      north = await op.sw.unitToken('north');
      device = await connect('qos-wl', await provision('qos-wl', IN_TUNNEL, 'water_level'));
    });
    /** Makes a ticket event for north: a new ticket, or an update of the open one. */
    const ticketEvent = async () => {
      if (tickets++ === 0) {
        await device.publishAsync('v1/devices/qos-wl/telemetry', JSON.stringify({ values: { water_level: 0.8 } }), { qos: 1 });
        await waitFor(async () => (await op.sw.api('GET', '/api/tickets?subcenter=north')).body.tickets[0], 'the ticket');
      } else {
        const [ticket] = (await op.sw.api('GET', '/api/tickets?subcenter=north')).body.tickets;
        expect((await op.sw.api('POST', `/api/tickets/${ticket.id}/feedback`, { note: `update ${tickets}` })).status).toBe(200);
      }
    };

    it.runIf(mosquittoClients.run)('queues the ticket events a feed client missed while away, for its persistent session (mosquitto_sub -c)', async () => {
      mosquittoClients.require();
      const feed = ['-h', '127.0.0.1', '-p', port, '-i', 'subcenter:north:desk-1', '-u', 'subcenter:north', '-P', north, '-c', '-q', '1', '-t', 'v1/subcenters/north/tickets'];
      await exec('mosquitto_sub', [...feed, '-E'], { timeout: 10_000 });
      await ticketEvent();
      const { stdout } = await exec('mosquitto_sub', [...feed, '-C', '1', '-W', '10'], { timeout: 15_000 });
      expect(JSON.parse(stdout)).toMatchObject({ to: 'north', ticket: { subcenterId: 'north' } });
    });

    it('queues them for MQTT.js too, and says the session is present', async () => {
      const opts = { clean: false, clientId: 'subcenter:north:desk-2' };
      const first = await connect(opts.clientId, north, opts);
      await first.subscribeAsync('v1/subcenters/north/tickets', { qos: 1 });
      await first.endAsync();
      await ticketEvent();
      const seen: string[] = [];
      const again = mqtt.connect(op.mqttUrl, { ...opts, username: 'subcenter:north', password: north, reconnectPeriod: 0 });
      clients.push(again);
      again.on('message', (_t, payload) => seen.push(payload.toString()));
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => again.once('connect', resolve));
      expect(connack.sessionPresent).toBe(true);
      await waitFor(() => seen[0], 'the event queued while away');
      expect(JSON.parse(seen[0]!)).toMatchObject({ to: 'north' });
    });

    it('resends an unacknowledged QoS 1 message after the reconnect [MQTT-4.4.0-1]', async () => {
      const login = { clientId: 'subcenter:north:raw', username: 'subcenter:north', password: north, clean: false };
      const first = await RawMqtt.open(op.broker.port);
      expect((await first.connect(login)).returnCode).toBe(0);
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/subcenters/north/tickets', qos: 1 }] });
      await first.next((p) => p.cmd === 'suback', 'the SUBACK');
      await ticketEvent();
      const sent = (await first.next((p) => p.cmd === 'publish', 'the event')) as IPublishPacket;
      expect(sent).toMatchObject({ qos: 1, dup: false });
      // Gone without a PUBACK.
      first.close();
      await first.closed;
      const second = await RawMqtt.open(op.broker.port);
      expect(await second.connect(login)).toEqual({ returnCode: 0, sessionPresent: true });
      const resent = (await second.next((p) => p.cmd === 'publish', 'the resent event')) as IPublishPacket;
      // Same identifier and message [MQTT-4.4.0-1]. The DUP flag stays 0: aedes does not set it
      // on redelivery (moscajs/aedes#601), a deviation from [MQTT-3.3.1-1] noted in SECURITY.md.
      expect(resent).toMatchObject({ qos: 1, messageId: sent.messageId, topic: sent.topic });
      expect(resent.payload.toString()).toBe(sent.payload.toString());
      second.send({ cmd: 'puback', messageId: resent.messageId! });
      second.close();
    });

    it('takes a device\'s QoS 2 publish exactly once, its repeats acknowledged and dropped [MQTT-4.3.3-2]', async () => {
      const secret = await provision('qos2-raw');
      const raw = await RawMqtt.open(op.broker.port);
      expect((await raw.connect({ clientId: 'qos2-raw', username: 'qos2-raw', password: secret })).returnCode).toBe(0);
      const publish = { cmd: 'publish' as const, topic: 'v1/devices/qos2-raw/telemetry', payload: Buffer.from(JSON.stringify({ values: { noise: 42 } })), qos: 2 as const, messageId: 7, retain: false, dup: false };
      raw.send(publish);
      await raw.next((p) => p.cmd === 'pubrec', 'the PUBREC');
      raw.send({ ...publish, dup: true });
      await raw.next((p) => p.cmd === 'pubrec', 'the second PUBREC', raw.received.findIndex((p) => p.cmd === 'pubrec') + 1);
      raw.send({ cmd: 'pubrel', messageId: 7 });
      await raw.next((p) => p.cmd === 'pubcomp', 'the PUBCOMP');
      raw.close();
      expect(await stored('qos2-raw')).toEqual([['noise', 42]]);
    });

    it('stores a QoS 1 reading resent after a lost connection once (its time is its identity)', async () => {
      const secret = await provision('qos1-raw');
      const publish = { cmd: 'publish' as const, topic: 'v1/devices/qos1-raw/telemetry', payload: Buffer.from(JSON.stringify({ ts: Date.now() - 1000, values: { noise: 43 } })), qos: 1 as const, messageId: 3, retain: false, dup: false };
      const lost = await RawMqtt.open(op.broker.port);
      expect((await lost.connect({ clientId: 'qos1-raw', username: 'qos1-raw', password: secret })).returnCode).toBe(0);
      // Whether or not the broker took it before the connection went, the client never saw a PUBACK.
      lost.send(publish);
      lost.close();
      const again = await RawMqtt.open(op.broker.port);
      expect((await again.connect({ clientId: 'qos1-raw', username: 'qos1-raw', password: secret })).returnCode).toBe(0);
      again.send({ ...publish, dup: true });
      await again.next((p) => p.cmd === 'puback', 'the PUBACK');
      again.close();
      expect(await stored('qos1-raw')).toEqual([['noise', 43]]);
    });

    it.runIf(mosquittoClients.run)('takes QoS 2 from mosquitto_pub', async () => {
      mosquittoClients.require();
      const secret = await provision('qos2-sh');
      await exec('mosquitto_pub', [...deviceArgs('qos2-sh', secret), '-q', '2', '-t', 'v1/devices/qos2-sh/telemetry', '-m', '{"values":{"noise":44}}']);
      expect(await stored('qos2-sh')).toEqual([['noise', 44]]);
    });
  });

  describe('keep-alive', () => {
    it('answers PINGREQ and keeps a pinging client (MQTT.js), and closes one that goes silent [MQTT-3.1.2-24]', async () => {
      const secret = await provision('ka-js');
      const alive = await connect('ka-js', secret, { keepalive: 1 });
      let pongs = 0;
      alive.on('packetreceive', (p) => {
        if (p.cmd === 'pingresp') pongs++;
      });
      await waitFor(() => pongs >= 2 || undefined, 'two PINGRESPs');
      expect(alive.connected).toBe(true);

      const silent = await RawMqtt.open(op.broker.port);
      expect((await silent.connect({ clientId: 'ka-raw', username: 'ka-raw', password: await provision('ka-raw'), keepalive: 1 })).returnCode).toBe(0);
      await silent.closed;
      await waitFor(async () => (await status('ka-raw')) === 'offline' || undefined, 'the silent client offline');
    });

    it.runIf(mosquittoClients.run)('answers mosquitto_sub\'s pings (its shortest keep-alive is 5 s)', async () => {
      mosquittoClients.require();
      const secret = await provision('ka-sh');
      const out = await exec('mosquitto_sub', [...deviceArgs('ka-sh', secret), '-k', '5', '-W', '7', '-d', '-t', 'v1/devices/ka-sh/errors']).then(
        (r) => r.stdout,
        (err: { stdout: string }) => err.stdout,
      );
      expect(out).toMatch(/received PINGRESP/);
      expect(out).not.toMatch(/[Dd]isconnect|[Cc]onnection lost/);
    });
  });

  describe('protocol versions', () => {
    it('takes MQTT 3.1 as well as 3.1.1', async () => {
      const secret = await provision('v31-js');
      const c = await connect('v31-js', secret, { protocolId: 'MQIsdp', protocolVersion: 3 });
      await c.publishAsync('v1/devices/v31-js/telemetry', JSON.stringify({ values: { noise: 45 } }), { qos: 1 });
      expect(await stored('v31-js')).toEqual([['noise', 45]]);
    });

    it('refuses an MQTT 5 CONNECT with return code 1 and closes the connection [MQTT-3.1.2-2]', async () => {
      const secret = await provision('v5-raw');
      const raw = await RawMqtt.open(op.broker.port, { protocolVersion: 5 });
      raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: 'v5-raw', username: 'v5-raw', password: Buffer.from(secret), properties: { sessionExpiryInterval: 0 } }, 5);
      await raw.closed;
      // A 3.1.1 CONNACK: two bytes, return code 1, "unacceptable protocol level".
      expect(raw.received).toMatchObject([{ cmd: 'connack', sessionPresent: false, reasonCode: 1 }]);
      const js = await mqtt.connectAsync(op.mqttUrl, { clientId: 'v5-raw', username: 'v5-raw', password: secret, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000 }, false).then(
        (c) => {
          void c.endAsync(true);
          return 'connected';
        },
        (err: Error & { code?: number }) => `refused ${err.code}`,
      );
      expect(js).toBe('refused 1');
      expect(await status('v5-raw')).toBe('unknown');
    });

    it.runIf(mosquittoClients.run)('refuses mosquitto_pub -V 5, and takes -V 31', async () => {
      mosquittoClients.require();
      const secret = await provision('v5-sh');
      const v5 = await exec('mosquitto_pub', [...deviceArgs('v5-sh', secret), '-V', '5', '-q', '1', '-t', 'v1/devices/v5-sh/telemetry', '-m', '{"values":{"noise":46}}']).then(
        () => 'published',
        (err: { stderr: string }) => err.stderr,
      );
      expect(v5).toMatch(/protocol version/i);
      await exec('mosquitto_pub', [...deviceArgs('v5-sh', secret), '-V', '31', '-q', '1', '-t', 'v1/devices/v5-sh/telemetry', '-m', '{"values":{"noise":47}}']);
      expect(await stored('v5-sh')).toEqual([['noise', 47]]);
    });
  });
});
