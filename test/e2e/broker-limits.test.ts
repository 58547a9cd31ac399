/**
 * The broker's flood limits over real sockets, counted against a clock the test moves: new
 * connections per address, open connections, failed logins per address, publishes per client;
 * and the timeouts that free what idle or stuck clients hold: CONNECT, keep-alive, drain.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { ManualClock } from '../support/clock.js';
import { metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { RawMqtt } from '../support/raw-mqtt.js';

const SITE = { lat: 23.115, lon: 113.335 };
const T0 = Date.UTC(2026, 5, 1, 8);
/** Loopback is exempt from per-address limits by default; these tests connect over loopback. */
const LIMIT_LOOPBACK = { STREETWATCH_LIMIT_LOOPBACK: 'true' };

const mqttPort = (sw: TestPlatform): number => sw.platform.mqttPort!;

/** Opens a connection and authenticates; the CONNACK return code, or `closed` if the broker hung up first. */
async function tryConnect(sw: TestPlatform, id: string, secret: string, keep: RawMqtt[] = []): Promise<number | 'closed'> {
  const raw = await RawMqtt.open(mqttPort(sw));
  keep.push(raw);
  return raw.connect({ clientId: id, username: id, password: secret }).then(
    (c) => c.returnCode,
    () => 'closed' as const,
  );
}

describe('connections per address and in total', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  let secret: string;
  beforeAll(async () => {
    sw = await startTestPlatform({ clock, env: { ...LIMIT_LOOPBACK, MQTT_CONNECT_BURST: '3', MQTT_CONNECT_RATE: '1', MQTT_MAX_CONNECTIONS: '4' } });
    secret = await sw.provision('cl-1', SITE);
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('closes connections from an address beyond its burst, until the clock has refilled it', async () => {
    const open: RawMqtt[] = [];
    // Each connection takes over the previous one (same id): only the rate counts here.
    expect([await tryConnect(sw, 'cl-1', secret, open), await tryConnect(sw, 'cl-1', secret, open), await tryConnect(sw, 'cl-1', secret, open)]).toEqual([0, 0, 0]);
    const refused = await RawMqtt.open(mqttPort(sw));
    await refused.closed;
    expect(refused.received).toEqual([]);
    expect(await metricValue(sw.platform.metrics.limited, { limit: 'mqtt_connect_rate' })).toBe(1);
    clock.advance(1_000);
    expect(await tryConnect(sw, 'cl-1', secret, open)).toBe(0);
    for (const c of open) c.close();
    await waitFor(async () => (await metricValue(sw.platform.metrics.mqttSockets)) === 0 || undefined, 'all connections closed');
  });

  it('closes connections beyond the maximum, and admits again once one has closed', async () => {
    clock.advance(60_000);
    const open: RawMqtt[] = [];
    for (let i = 0; i < 4; i++) {
      open.push(await RawMqtt.open(mqttPort(sw)));
      clock.advance(1_000);
    }
    await waitFor(async () => (await metricValue(sw.platform.metrics.mqttSockets)) === 4 || undefined, 'four open connections');
    const fifth = await RawMqtt.open(mqttPort(sw));
    await fifth.closed;
    expect(fifth.received).toEqual([]);
    expect(await metricValue(sw.platform.metrics.limited, { limit: 'mqtt_connections' })).toBe(1);
    open.shift()!.close();
    await waitFor(async () => (await metricValue(sw.platform.metrics.mqttSockets)) === 3 || undefined, 'one connection closed');
    expect(await tryConnect(sw, 'cl-1', secret, open)).toBe(0);
    for (const c of open) c.close();
  });
});

describe('failed logins per address', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform({ clock, env: { ...LIMIT_LOOPBACK, STREETWATCH_LOGIN_FAILURE_BURST: '3', STREETWATCH_LOGIN_FAILURE_REFILL: '10s' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('refuses every login from an address that failed too often, with CONNACK 3, until it may try again', async () => {
    const secret = await sw.provision('lf-1', SITE);
    const open: RawMqtt[] = [];
    for (let i = 0; i < 3; i++) expect(await tryConnect(sw, 'lf-1', 'wrong-secret', open)).toBe(4);
    // Even the right secret is refused now: it is not even checked.
    expect(await tryConnect(sw, 'lf-1', secret, open)).toBe(3);
    expect(await metricValue(sw.platform.metrics.mqttAuthFailures, { code: 'SW_ERR_RATE_LIMITED' })).toBe(1);
    expect(await metricValue(sw.platform.metrics.mqttAuthFailures, { code: 'SW_ERR_BAD_CREDENTIALS' })).toBe(3);
    clock.advance(10_000);
    // One failure earned back; a success spends nothing.
    expect(await tryConnect(sw, 'lf-1', secret, open)).toBe(0);
    expect(await tryConnect(sw, 'lf-1', secret, open)).toBe(0);
    expect(await tryConnect(sw, 'lf-1', 'wrong-again', open)).toBe(4);
    expect(await tryConnect(sw, 'lf-1', secret, open)).toBe(3);
    for (const c of open) c.close();
  });
});

describe('publishes per client', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform({ clock, env: { MQTT_PUBLISH_RATE: '1', MQTT_PUBLISH_BURST: '3' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('reads a client faster than its rate more slowly, and loses nothing it sent', async () => {
    const device = await sw.connect('pr-1', await sw.provision('pr-1', SITE));
    const other = await sw.connect('pr-2', await sw.provision('pr-2', SITE));
    const stored = async (id: string) => (await sw.platform.series.query({ deviceId: id, from: 0, to: T0 + 60_000 })).length;
    const acks = Array.from({ length: 5 }, (_, i) => device.publishAsync('v1/devices/pr-1/telemetry', JSON.stringify({ ts: T0 - 10_000 + i, values: { noise: 40 + i } }), { qos: 1 }));
    await waitFor(async () => (await metricValue(sw.platform.metrics.limited, { limit: 'mqtt_publish_rate' })) === 2 || undefined, 'two publishes held back');
    await waitFor(async () => (await stored('pr-1')) === 3 || undefined, 'the burst stored');
    // The clock has not moved, so the two held back cannot have gone through; another client is not held up.
    await other.publishAsync('v1/devices/pr-2/telemetry', JSON.stringify({ values: { noise: 50 } }), { qos: 1 });
    await waitFor(async () => (await stored('pr-2')) === 1 || undefined, 'the other client stored');
    expect(await stored('pr-1')).toBe(3);
    clock.advance(1_000);
    await waitFor(async () => (await stored('pr-1')) === 4 || undefined, 'one more after a second');
    clock.advance(1_000);
    await Promise.all(acks);
    await sw.settled();
    const values = (await sw.platform.series.query({ deviceId: 'pr-1', from: 0, to: T0 + 60_000 })).map((r) => r.value);
    expect(values).toEqual([40, 41, 42, 43, 44]);
  });

  it('stops reading a client over its rate, drops what waited when its next connection takes over, and does not queue the newcomer behind it', async () => {
    const secret = await sw.provision('pr-3', SITE);
    const stored = async () => (await sw.platform.series.query({ deviceId: 'pr-3', from: 0, to: T0 + 60_000 })).map((r) => r.value);
    const flooder = await RawMqtt.open(mqttPort(sw));
    expect((await flooder.connect({ clientId: 'pr-3', username: 'pr-3', password: secret })).returnCode).toBe(0);
    const limited = await metricValue(sw.platform.metrics.limited, { limit: 'mqtt_publish_rate' });
    // 200 publishes of 10 KB (250 readings each), written at once: the burst of 3 goes through, the fourth waits for
    // the clock, and the broker reads no further, so the rest stay in the network buffers.
    for (let i = 0; i < 200; i++) {
      const readings = Array.from({ length: 250 }, (_, k) => ({ ts: T0 - 100_000 + i * 250 + k, values: { noise: 40 } }));
      flooder.send({ cmd: 'publish', topic: 'v1/devices/pr-3/telemetry', messageId: i + 1, payload: Buffer.from(JSON.stringify(readings)), qos: 1, retain: false, dup: false });
    }
    await waitFor(async () => (await metricValue(sw.platform.metrics.limited, { limit: 'mqtt_publish_rate' })) > limited || undefined, 'a publish held back');
    // Held back: the publishes read and waiting, never more than one read of the connection.
    const waiting = (await metricValue(sw.platform.metrics.limited, { limit: 'mqtt_publish_rate' })) - limited;
    expect(waiting).toBeLessThanOrEqual(2);
    // In progress: those, and the burst still being handed on.
    expect(await metricValue(sw.platform.metrics.mqttPublishesInProgress)).toBeLessThanOrEqual(3 + waiting);
    await waitFor(() => flooder.received.filter((p) => p.cmd === 'puback').length === 3 || undefined, 'the burst acknowledged');

    // The device reconnects: the old connection is closed, and what it had waiting goes with it.
    const next = await RawMqtt.open(mqttPort(sw));
    expect((await next.connect({ clientId: 'pr-3', username: 'pr-3', password: secret })).returnCode).toBe(0);
    await flooder.closed;
    await waitFor(async () => (await metricValue(sw.platform.metrics.mqttPublishesInProgress)) === 0 || undefined, 'nothing in progress once the old connection closed');
    next.send({ cmd: 'publish', topic: 'v1/devices/pr-3/telemetry', messageId: 1, payload: Buffer.from(JSON.stringify({ ts: T0 - 1_000, values: { noise: 50 } })), qos: 1, retain: false, dup: false });
    // The bucket is the client's (reconnecting earns no new burst): one second for one token, not for the 197 that waited.
    clock.advance(1_000);
    await next.next((p) => p.cmd === 'puback', 'the PUBACK of the next connection');
    await sw.settled();
    expect(await stored()).toEqual([...Array<number>(3 * 250).fill(40), 50]);
    next.close();
  });
});

describe('what one connection may hold in the broker', () => {
  const lines: string[] = [];
  let sw: TestPlatform;
  beforeAll(async () => {
    const logger = createLogger('info', {}, { write: (line: string) => void lines.push(line) });
    sw = await startTestPlatform({ logger, env: { MQTT_CLIENT_QUEUE_BYTES: '262144', MQTT_DRAIN_TIMEOUT: '10m', MQTT_PUBLISH_RATE: '100000', MQTT_PUBLISH_BURST: '100000' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('closes a connection that holds more than its cap of unsent messages, counts it and logs it once, and keeps serving the others', async () => {
    // An operator's flows runtime takes the readings feed and stops reading it.
    const operator = await RawMqtt.open(mqttPort(sw));
    expect((await operator.connect({ clientId: 'operator:flows', username: 'operator:flows', password: sw.platform.operatorToken! })).returnCode).toBe(0);
    operator.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/operators/readings/#', qos: 0 }] });
    await operator.next((p) => p.cmd === 'suback', 'the SUBACK');
    operator.socket.pause();
    // Devices go on publishing: 1,000 readings a publish, each a message of the feed. The network
    // takes a few megabytes before anything waits in the broker.
    const devices = await Promise.all(['qc-1', 'qc-2', 'qc-3', 'qc-4'].map(async (id) => ({ id, client: await sw.connect(id, await sw.provision(id, SITE)) })));
    const t0 = Date.now() - 3_600_000;
    const closed = async (): Promise<boolean> => (await metricValue(sw.platform.metrics.mqttDisconnects, { code: 'SW_ERR_CLIENT_QUEUE_FULL' })) > 0;
    let n = 0;
    while (!(await closed()) && n < 200_000) {
      await Promise.all(
        devices.map(({ id, client }) => {
          const batch = Array.from({ length: 200 }, (_, k) => ({ ts: t0 + n + k, values: { noise: 50, humidity: 60, temperature: 20, pm25: 10, co: 1 } }));
          return client.publishAsync(`v1/devices/${id}/telemetry`, JSON.stringify(batch), { qos: 1 });
        }),
      );
      n += 200;
    }
    // The operator sees its connection closed once it reads again.
    operator.socket.resume();
    await operator.closed;
    expect(await metricValue(sw.platform.metrics.mqttDisconnects, { code: 'SW_ERR_CLIENT_QUEUE_FULL' })).toBe(1);
    const logged = lines.filter((l) => l.includes('SW_ERR_CLIENT_QUEUE_FULL'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ clientId: 'operator:flows', code: 'SW_ERR_CLIENT_QUEUE_FULL' });

    // The devices never noticed.
    await devices[0]!.client.publishAsync('v1/devices/qc-1/telemetry', JSON.stringify({ values: { noise: 51 } }), { qos: 1 });
    expect(devices.every(({ client }) => client.connected)).toBe(true);
    await waitFor(async () => (await metricValue(sw.platform.metrics.mqttHeldBytes)) === 0 || undefined, 'nothing held once the operator is gone');
  });
});

describe('refused subscriptions', () => {
  const clock = new ManualClock(T0);
  const lines: string[] = [];
  let sw: TestPlatform;
  beforeAll(async () => {
    const logger = createLogger('info', {}, { write: (line: string) => void lines.push(line) });
    sw = await startTestPlatform({ clock, logger, env: { MQTT_SUBSCRIBE_REFUSAL_RATE: '1', MQTT_SUBSCRIBE_REFUSAL_BURST: '10' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('answers a client\'s refused filters at its refusal rate, reads nothing else from it meanwhile, and logs them sampled and cut short', async () => {
    const secret = await sw.provision('sr-1', SITE);
    const raw = await RawMqtt.open(mqttPort(sw));
    expect((await raw.connect({ clientId: 'sr-1', username: 'sr-1', password: secret })).returnCode).toBe(0);
    const before = lines.length;
    // Twenty SUBSCRIBE packets of one 60 KB filter each, then a PINGREQ.
    for (let i = 0; i < 20; i++) raw.send({ cmd: 'subscribe', messageId: i + 1, subscriptions: [{ topic: `v1/devices/other-${i}/${'f'.repeat(60_000)}`, qos: 1 }] });
    raw.send({ cmd: 'pingreq' });
    await waitFor(() => raw.received.filter((p) => p.cmd === 'suback').length === 10 || undefined, 'the burst of ten refusals');
    await waitFor(async () => (await metricValue(sw.platform.metrics.limited, { limit: 'mqtt_subscribe_refusals' })) === 1 || undefined, 'the eleventh held back');
    expect(raw.received.filter((p) => p.cmd === 'suback').every((p) => (p as { granted: number[] }).granted[0] === 128)).toBe(true);
    expect(raw.received.some((p) => p.cmd === 'pingresp')).toBe(false);
    // One refusal more per second of the clock.
    clock.advance(1_000);
    await waitFor(() => raw.received.filter((p) => p.cmd === 'suback').length === 11 || undefined, 'one more refusal');
    clock.advance(9_000);
    await waitFor(() => raw.received.some((p) => p.cmd === 'pingresp') || undefined, 'the PINGREQ read once the refusals are answered');
    expect(raw.received.filter((p) => p.cmd === 'suback')).toHaveLength(20);
    raw.close();
    await waitFor(async () => (await metricValue(sw.platform.metrics.mqttConnections)) === 0 || undefined, 'the client gone');

    // Two lines for twenty refusals (the first, and one after the ten seconds with the count of those
    // not logged), one at the disconnect; none quotes more than a short prefix of the filter.
    const refusals = lines.slice(before).filter((l) => l.includes('subscription refused'));
    expect(refusals.length).toBeLessThanOrEqual(3);
    expect(refusals.reduce((n, l) => n + (JSON.parse(l).suppressed ?? 0) + 1, 0)).toBe(20);
    for (const line of refusals) expect(line.length).toBeLessThan(1_000);
    expect(await metricValue(sw.platform.metrics.rejected, { code: 'SW_ERR_SUBSCRIBE_FORBIDDEN' })).toBe(20);
  });
});

describe('timeouts', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform({ env: { MQTT_CONNECT_TIMEOUT: '300ms', MQTT_KEEPALIVE_MAX: '1s' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('closes a connection that sends no CONNECT', async () => {
    const silent = await RawMqtt.open(mqttPort(sw));
    await silent.closed;
    expect(silent.received).toEqual([]);
  });

  it('holds a keep-alive of 0 or over the maximum to the maximum: a silent client is disconnected and shown offline', async () => {
    const secrets = [await sw.provision('ka-0', SITE), await sw.provision('ka-long', SITE)];
    const clients: MqttClient[] = [await sw.connect('ka-0', secrets[0]!, { keepalive: 0 }), await sw.connect('ka-long', secrets[1]!, { keepalive: 3600 })];
    // Neither client pings within 1.5 s; the broker closes both [MQTT-3.1.2-24].
    await Promise.all(clients.map((c) => new Promise<void>((resolve) => c.once('close', () => resolve()))));
    for (const id of ['ka-0', 'ka-long']) {
      await waitFor(async () => (await sw.api('GET', `/api/devices/${id}`)).body.status === 'offline' || undefined, `${id} offline`);
    }
  });
});

describe('drain timeout', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform({ env: { MQTT_DRAIN_TIMEOUT: '500ms', MQTT_PUBLISH_RATE: '100000', MQTT_PUBLISH_BURST: '100000' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('disconnects a client that stops reading its errors, and keeps serving the others', async () => {
    const secret = await sw.provision('dr-1', SITE);
    const stuck = await RawMqtt.open(mqttPort(sw));
    expect((await stuck.connect({ clientId: 'dr-1', username: 'dr-1', password: secret })).returnCode).toBe(0);
    stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/devices/dr-1/errors', qos: 1 }] });
    await stuck.next((p) => p.cmd === 'suback', 'the SUBACK');
    stuck.socket.pause();
    // Each publish is refused in eleven error messages; none is read.
    const refusedEverywhere = JSON.stringify({ values: Object.fromEntries(['water_level', 'rainfall', 'smoke', 'gas_lel', 'co', 'humidity', 'noise', 'pm25', 'pm10', 'battery_v', 'wind_speed', 'tilt'].map((m) => [m, -1e6])) });
    for (let i = 0; i < 3000 && !stuck.isClosed; i++) stuck.send({ cmd: 'publish', topic: 'v1/devices/dr-1/telemetry', payload: Buffer.from(refusedEverywhere), qos: 0, retain: false, dup: false });

    const other = await sw.connect('dr-2', await sw.provision('dr-2', SITE));
    await waitFor(async () => (await sw.api('GET', '/api/devices/dr-1')).body.status === 'offline' || undefined, 'the stuck client disconnected', 20_000);
    await other.publishAsync('v1/devices/dr-2/telemetry', JSON.stringify({ values: { noise: 50 } }), { qos: 1 });
    await sw.settled();
    expect(await sw.platform.series.query({ deviceId: 'dr-2', from: 0, to: Date.now() + 60_000 })).toHaveLength(1);
    stuck.close();
  });
});
