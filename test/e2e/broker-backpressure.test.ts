/**
 * Backpressure at the MQTT edge, measured on the platform in a process of its own (its RSS is
 * what is checked): a device that publishes faster than its rate is read no faster than its
 * publishes are handed on, so what it sends waits in its own TCP buffers, not in the platform;
 * other devices are answered meanwhile; and its next connection is not queued behind what the
 * last one left. Then a QoS 0 flood from many devices: with no acknowledgement to wait for, only
 * the broker's reading can hold it back.
 */
import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_MQTT_CLIENT_INFLIGHT } from '../../core/config.js';
import { waitFor } from '../support/harness.js';
import { startPlatformProcess, type PlatformProcess } from '../support/platform-process.js';
import { RawMqtt } from '../support/raw-mqtt.js';

const SITE = { lat: 23.115, lon: 113.335 };
const MB = 1024 * 1024;
/** The probe of the finding: 3,000 QoS 1 publishes of 120 KB from one device. */
const FLOOD_PUBLISHES = 3_000;
const FLOOD_PAYLOAD_BYTES = 120 * 1024;
/** How long the flood goes on at most: the finding's whole flood was written in 2.7 s. */
const FLOOD_MS = 8_000;
/** How far RSS may rise over its baseline during the flood (the finding: +359 MB, the whole flood). */
const RSS_RISE_BOUND = 300 * MB;
/** How near its baseline RSS must come back once the flooder is gone (freed memory the allocator keeps included). */
const RSS_SETTLED_BOUND = 100 * MB;

/** Devices of the QoS 0 flood. */
const QOS0_DEVICES = 100;
/** Bytes of publishes a flooding device writes at once. */
const QOS0_WRITE_BYTES = 32 * 1024;
/** Bytes the MQTT parser gets at most in one read: two of the broker's 4 KiB slices. */
const PARSER_READ_BYTES = 8 * 1024;
/**
 * What a flooded connection may hold read from the network and not parsed: one read of the
 * socket (libuv's 64 KiB), what was left under the socket's 16 KiB mark when it read, and the
 * parser's slice.
 */
const UNREAD_BYTES_PER_CONNECTION = 64 * 1024 + 16 * 1024 + PARSER_READ_BYTES;
/** How long the QoS 0 flood goes on. */
const QOS0_FLOOD_MS = 8_000;

const mib = (n: number): string => `${(n / MB).toFixed(0)} MiB`;

/** A QoS 1 PUBLISH packet: its header (topic and packet id) and a payload shared by every packet. */
function publishHeader(topic: string, messageId: number, payloadBytes: number): Buffer {
  const topicBytes = Buffer.from(topic);
  let remaining = 2 + topicBytes.length + 2 + payloadBytes;
  const length: number[] = [];
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    length.push(byte);
  } while (remaining > 0);
  const head = Buffer.alloc(1 + length.length + 2 + topicBytes.length + 2);
  let at = head.writeUInt8(0x32, 0);
  for (const b of length) at = head.writeUInt8(b, at);
  at = head.writeUInt16BE(topicBytes.length, at);
  at += topicBytes.copy(head, at);
  head.writeUInt16BE(messageId, at);
  return head;
}

/** Writes `count` publishes as fast as the socket takes them; stops early when told or when the socket closes. */
async function flood(socket: net.Socket, topic: string, count: number, payload: Buffer, stop: { now: boolean }): Promise<number> {
  let sent = 0;
  for (let i = 0; i < count && !stop.now && !socket.destroyed; i++) {
    socket.write(publishHeader(topic, (i % 65_535) + 1, payload.length));
    const more = socket.write(payload);
    sent++;
    if (!more) await drained(socket, stop);
  }
  return sent;
}

describe('backpressure at the MQTT edge (platform in its own process)', () => {
  let sw: PlatformProcess;
  beforeAll(async () => {
    // The default publish limits (20/s after 100) are the ones the finding was measured with.
    sw = await startPlatformProcess();
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('reads a device flooding QoS 1 publishes no faster than they are handed on: RSS stays near its baseline, other devices are answered, the next connection is not queued behind the last', async () => {
    const secret = await sw.provision('bp-flood', SITE);
    const other = await mqtt.connectAsync(`mqtt://127.0.0.1:${sw.mqttPort}`, { clientId: 'bp-other', username: 'bp-other', password: await sw.provision('bp-other', SITE), reconnectPeriod: 0 });
    for (let i = 0; i < 20; i++) await other.publishAsync('v1/devices/bp-other/telemetry', JSON.stringify({ values: { noise: 40 } }), { qos: 1 });
    const baseline = sw.rss();

    const figures: Record<string, string | number> = { baseline: mib(baseline) };
    onTestFinished(() => console.info(`QoS 1 flood of ${FLOOD_PAYLOAD_BYTES / 1024} KiB publishes: ${JSON.stringify(figures)}`));
    const flooder = await RawMqtt.open(sw.mqttPort);
    expect((await flooder.connect({ clientId: 'bp-flood', username: 'bp-flood', password: secret })).returnCode).toBe(0);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, sw.rss());
    }, 50);
    onTestFinished(() => clearInterval(sampler));
    // The flood goes on until it is all written, or for as long as it took to write it all before backpressure.
    const stop = { now: false };
    const stopAfter = setTimeout(() => (stop.now = true), FLOOD_MS);
    onTestFinished(() => clearTimeout(stopAfter));
    const started = Date.now();
    const sending = flood(flooder.socket, 'v1/devices/bp-flood/telemetry', FLOOD_PUBLISHES, Buffer.alloc(FLOOD_PAYLOAD_BYTES, 0x41), stop);
    const acked = (): number => flooder.received.filter((p) => p.cmd === 'puback').length;

    // Past its burst, the flooder is answered at its rate while most of what it sent is unread.
    await waitFor(() => acked() >= 150 || undefined, '150 PUBACKs to the flooder', 60_000);
    const t0 = performance.now();
    await other.publishAsync('v1/devices/bp-other/telemetry', JSON.stringify({ values: { noise: 41 } }), { qos: 1 });
    figures.otherPubackMs = Math.round(performance.now() - t0);
    expect(acked(), 'the flood is still unanswered when the other device is').toBeLessThan(FLOOD_PUBLISHES);

    figures.sent = await sending;
    figures.floodMs = Date.now() - started;
    figures.acked = acked();
    figures.peakDuringFlood = mib(peak);
    expect(peak - baseline, 'RSS rise during the flood').toBeLessThan(RSS_RISE_BOUND);

    // The flooder gives up; its next connection's first publish is answered at once, not after what the last one left.
    flooder.close();
    const again = await RawMqtt.open(sw.mqttPort);
    const t1 = performance.now();
    expect((await again.connect({ clientId: 'bp-flood', username: 'bp-flood', password: secret })).returnCode).toBe(0);
    again.send({ cmd: 'publish', topic: 'v1/devices/bp-flood/telemetry', messageId: 1, qos: 1, retain: false, dup: false, payload: Buffer.from(JSON.stringify({ values: { noise: 42 } })) });
    await again.next((p) => p.cmd === 'puback', 'the first PUBACK of the next connection');
    figures.nextConnectionPubackMs = Math.round(performance.now() - t1);
    again.close();
    clearInterval(sampler);

    const settled = await waitFor(
      () => {
        const rss = sw.rss();
        return rss - baseline <= RSS_SETTLED_BOUND ? rss : undefined;
      },
      'RSS back near its baseline',
      60_000,
    );
    Object.assign(figures, { peak: mib(peak), settled: mib(settled) });
    await other.endAsync();
  }, 180_000);
});

describe('a QoS 0 flood from many devices (platform in its own process, no publish rate limit)', () => {
  let sw: PlatformProcess;
  beforeAll(async () => {
    // Without a rate limit only the broker's reading can hold a QoS 0 flood back: nothing is acknowledged.
    sw = await startPlatformProcess({ env: { MQTT_PUBLISH_RATE: '1000000', MQTT_PUBLISH_BURST: '1000000' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('holds no more of a QoS 0 flood than a small window per device, however long it goes on', async () => {
    const devices = await Promise.all(Array.from({ length: QOS0_DEVICES }, async (_, i) => ({ id: `bp0-${i}`, secret: await sw.provision(`bp0-${i}`, SITE) })));
    const conns = await Promise.all(
      devices.map(async ({ id, secret }) => {
        const raw = await RawMqtt.open(sw.mqttPort);
        expect((await raw.connect({ clientId: id, username: id, password: secret })).returnCode).toBe(0);
        return { id, raw };
      }),
    );
    const packet = (id: string): Buffer => qos0Publish(`v1/devices/${id}/telemetry`, Buffer.from(JSON.stringify({ values: { noise: 50, humidity: 60 } })));
    const packetBytes = packet(conns[0]!.id).length;
    const handedOn = (): Promise<number> => sw.metric('streetwatch_mqtt_publishes_total{kind="telemetry"}');
    const handedOn0 = await handedOn();
    const baseline = sw.rss();
    const held = { publishes: [] as number[], bytes: 0, unread: 0, rss: baseline };
    const stop = { now: false };
    // What the broker holds, as /metrics says, every 250 ms while the flood goes on.
    const sampling = (async () => {
      while (!stop.now) {
        await new Promise((r) => setTimeout(r, 250));
        const scrape = (await sw.api<string>('GET', '/metrics')).body;
        const value = (name: string): number => {
          const line = scrape.split('\n').find((l) => l.startsWith(`${name} `));
          if (!line) throw new Error(`/metrics has no ${name}`);
          return Number(line.slice(name.length + 1));
        };
        held.publishes.push(value('streetwatch_mqtt_publishes_in_progress'));
        held.bytes = Math.max(held.bytes, value('streetwatch_mqtt_held_bytes'));
        held.unread = Math.max(held.unread, value('streetwatch_mqtt_unread_bytes'));
        held.rss = Math.max(held.rss, sw.rss());
      }
    })();
    const stopAfter = setTimeout(() => (stop.now = true), QOS0_FLOOD_MS);
    onTestFinished(() => clearTimeout(stopAfter));
    // Each device writes one telemetry publish over and over, a few hundred at a time (one system call).
    await Promise.all(
      conns.map(async (c) => {
        const batch = Buffer.concat(Array<Buffer>(Math.floor(QOS0_WRITE_BYTES / packetBytes)).fill(packet(c.id)));
        while (!stop.now && !c.raw.isClosed) {
          if (!c.raw.socket.write(batch)) await drained(c.raw.socket, stop);
        }
      }),
    );
    await sampling;
    for (const { raw } of conns) raw.close();
    // Per device: its window, and what one read of the parser can hold of these small publishes past it.
    const bound = QOS0_DEVICES * (DEFAULT_MQTT_CLIENT_INFLIGHT + Math.ceil(PARSER_READ_BYTES / packetBytes));
    const most = Math.max(...held.publishes);
    const figures = { devices: QOS0_DEVICES, handedOn: (await handedOn()) - handedOn0, mostInProgress: most, bound, mostHeldBytes: held.bytes, mostUnreadBytes: held.unread, rss: `${mib(baseline)} → peak ${mib(held.rss)}` };
    console.info(`QoS 0 flood: ${JSON.stringify(figures)}; publishes in progress every 250 ms: ${held.publishes.join(' ')}`);
    expect(held.publishes.length, "samples taken during the flood").toBeGreaterThan(2);
    expect(most, 'publishes read from the devices and held by the broker').toBeLessThanOrEqual(bound);
    expect(held.unread, 'bytes read from the devices and not yet parsed').toBeGreaterThan(0);
    expect(held.unread, 'bytes read from the devices and not yet parsed').toBeLessThanOrEqual(QOS0_DEVICES * UNREAD_BYTES_PER_CONNECTION);
  }, 120_000);
});

/** A QoS 0 PUBLISH packet. */
function qos0Publish(topic: string, payload: Buffer): Buffer {
  const t = Buffer.from(topic);
  const remaining = 2 + t.length + payload.length;
  if (remaining > 127 * 128) throw new Error('test packet too long for two length bytes');
  const head = remaining < 128 ? [0x30, remaining] : [0x30, (remaining % 128) | 0x80, Math.floor(remaining / 128)];
  return Buffer.concat([Buffer.from(head), Buffer.from([t.length >> 8, t.length & 0xff]), t, payload]);
}

/** Resolves when the socket drains, closes, or the flood is told to stop. */
function drained(socket: net.Socket, stop: { now: boolean }): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      clearInterval(poll);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
    const poll = setInterval(() => stop.now && done(), 50);
  });
}
