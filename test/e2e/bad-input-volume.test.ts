/**
 * Bad input at volume: a generated corpus of 12 000 publishes (malformed JSON, wrong types,
 * 1e999, "NaN", extra keys, __proto__ keys, deep nesting, huge arrays, oversize payloads,
 * invalid UTF-8, forbidden and unknown topics), a third of them valid, interleaved, sent at
 * QoS 1 over real MQTT connections to a real platform. Then, by counting: nothing crashed, every
 * refused publish was answered on its device's errors topic with a coded error (and counted in
 * streetwatch_rejected_total), every valid reading is in the store, and memory stayed flat.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../../core/errors.js';
import { DeviceErrorMessage } from '../../core/schemas.js';
import { CORPUS_MAX_PAYLOAD, generateCorpus, type Case, type SendContext } from '../support/bad-input-corpus.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { RawMqtt } from '../support/raw-mqtt.js';

/** SW_CORPUS_CASES runs a longer corpus by hand (the leak check then covers more). */
const CASES = Number(process.env.SW_CORPUS_CASES ?? 12_000);
/** Publishes sent before the first measurement: enough for heap, allocator and SQLite cache to settle. */
const WARM_UP = Math.floor(CASES / 3);
const DEVICES = 8;
/** Unacknowledged publishes per connection at a time. */
const WINDOW = 200;
const SEED = 20_261_001;
const SITE = { lat: 23.115, lon: 113.335 };
/**
 * How much the JS heap and the memory outside it (buffers) may grow from the end of the warm-up
 * to the end, and RSS (allocator and SQLite caches still settling): a leak check, not a
 * measurement. Keeping every payload, or every dead letter, would pass 16 MiB.
 */
const HEAP_BOUND = 16 * 1024 * 1024;
/** RSS also holds what the allocator keeps after frees: 20 to 110 MiB more here from run to run, flat over 40 000 cases. */
const RSS_BOUND = 192 * 1024 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Device {
  id: string;
  client: MqttClient;
  ctx: SendContext;
  refs: Set<string>;
  errors: number;
  summaries: number;
  /** Refusals the summaries stand for. */
  summarized: number;
  bad: string[];
  expectedRefused: number;
  expectedReadings: number;
}

const memory = () => {
  gc();
  gc();
  const { heapUsed, external, rss } = process.memoryUsage();
  return { heapUsed, external, rss };
};
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

describe('bad input at volume', () => {
  let sw: TestPlatform;
  const devices: Device[] = [];
  const corpus = generateCorpus(CASES, SEED);

  beforeAll(async () => {
    sw = await startTestPlatform({ env: { STREETWATCH_MAX_PAYLOAD: String(CORPUS_MAX_PAYLOAD), MQTT_PUBLISH_RATE: '1000000', MQTT_PUBLISH_BURST: '1000000' } });
    const tsBase = Date.now() - 3 * 3_600_000;
    for (let i = 0; i < DEVICES; i++) {
      const id = `vol-${i}`;
      const client = await sw.connect(id, await sw.provision(id, SITE));
      let seq = 0;
      const device: Device = {
        id,
        client,
        ctx: { deviceId: id, otherId: `vol-${(i + 1) % DEVICES}`, nextTs: () => tsBase + seq++ },
        refs: new Set(),
        errors: 0,
        summaries: 0,
        summarized: 0,
        bad: [],
        expectedRefused: 0,
        expectedReadings: 0,
      };
      client.on('message', (_topic, payload) => {
        const parsed = DeviceErrorMessage.safeParse(JSON.parse(payload.toString('utf8')));
        if (!parsed.success || !errorCodes.includes(parsed.data.code as never) || parsed.data.code === 'SW_ERR_INTERNAL') {
          device.bad.push(payload.toString('utf8').slice(0, 300));
          return;
        }
        device.errors++;
        if (parsed.data.code === 'SW_ERR_MORE_REJECTIONS') {
          device.summaries++;
          device.summarized += Number(/^(\d+) more rejections/.exec(parsed.data.message)?.[1] ?? NaN);
        }
        device.refs.add(parsed.data.ref);
      });
      await client.subscribeAsync(`v1/devices/${id}/errors`, { qos: 1 });
      devices.push(device);
    }
  });
  afterAll(async () => {
    await sw?.stop();
  });

  /** Sends cases round-robin over the devices, each connection keeping WINDOW publishes in flight. */
  async function send(cases: readonly Case[], offset: number): Promise<void> {
    const perDevice = devices.map(() => [] as Case[]);
    cases.forEach((c, i) => perDevice[(offset + i) % DEVICES]!.push(c));
    await Promise.all(
      devices.map(async (d, i) => {
        const queue = perDevice[i]!;
        for (let start = 0; start < queue.length; start += WINDOW) {
          await Promise.all(
            queue.slice(start, start + WINDOW).map((c) => {
              const { topic, payload } = c.build(d.ctx);
              if (c.refused) d.expectedRefused++;
              d.expectedReadings += c.readings;
              return d.client.publishAsync(topic, payload, { qos: 1 });
            }),
          );
        }
      }),
    );
  }

  const rejectedTotal = async (): Promise<number> => (await sw.platform.metrics.rejected.get()).values.reduce((n, v) => n + v.value, 0);

  it(`refuses each of the bad publishes with a coded error, stores every valid reading, and keeps memory flat (${CASES} cases)`, async () => {
    const families = new Map<string, number>();
    for (const c of corpus) families.set(c.family, (families.get(c.family) ?? 0) + 1);
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    const rejectedBefore = await rejectedTotal();

    await send(corpus.slice(0, WARM_UP), 0);
    await waitFor(() => devices.every((d) => d.refs.size === d.expectedRefused) || undefined, 'the warm-up\'s refusals', 30_000);
    const afterWarmUp = memory();

    const started = Date.now();
    await send(corpus.slice(WARM_UP), WARM_UP);
    await waitFor(() => devices.every((d) => d.refs.size >= d.expectedRefused) || undefined, 'every refusal', 30_000);
    const seconds = (Date.now() - started) / 1000;
    const atEnd = memory();

    // Every bad publish answered, once per publish (several errors of one publish share a ref), no malformed answer.
    expect(devices.map((d) => d.bad)).toEqual(devices.map(() => []));
    expect(devices.map((d) => d.refs.size)).toEqual(devices.map((d) => d.expectedRefused));
    // Every valid reading stored, and nothing else.
    await sw.settled();
    const stored = await Promise.all(devices.map(async (d) => (await sw.platform.series.query({ deviceId: d.id, from: 0, to: Date.now() + 60_000 })).length));
    expect(stored).toEqual(devices.map((d) => d.expectedReadings));
    // Counted by code: each error message is one count, and a summary of a long refusal counts the refusals it stands for.
    const answered = devices.reduce((n, d) => n + d.errors - d.summaries, 0);
    const summarized = devices.reduce((n, d) => n + d.summarized, 0);
    expect((await rejectedTotal()) - rejectedBefore).toBe(answered + summarized);
    // Still up, and nothing leaked into the object prototype.
    expect((await sw.api('GET', '/healthz')).status).toBe(200);
    expect(devices.every((d) => d.client.connected)).toBe(true);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const refused = devices.reduce((n, d) => n + d.expectedRefused, 0);
    const readings = devices.reduce((n, d) => n + d.expectedReadings, 0);
    const codes = (await sw.platform.metrics.rejected.get()).values.filter((v) => v.value > 0).map((v) => `${v.labels.code}=${v.value}`);
    console.log(
      [
        `corpus: ${CASES} publishes (seed ${SEED}), ${refused} refused, ${CASES - refused} accepted, ${readings} readings stored; ${(CASES - WARM_UP) / seconds | 0} publishes/s after the warm-up`,
        `families: ${[...families].map(([f, n]) => `${f} ${n}`).join(', ')}`,
        `errors received: ${answered + devices.reduce((n, d) => n + d.summaries, 0)}; rejected by code: ${codes.join(', ')}`,
        `memory after warm-up: heap ${mb(afterWarmUp.heapUsed)}, external ${mb(afterWarmUp.external)}, rss ${mb(afterWarmUp.rss)}; at the end: heap ${mb(atEnd.heapUsed)}, external ${mb(atEnd.external)}, rss ${mb(atEnd.rss)}`,
      ].join('\n'),
    );
    expect(atEnd.heapUsed - afterWarmUp.heapUsed).toBeLessThan(HEAP_BOUND);
    expect(atEnd.external - afterWarmUp.external).toBeLessThan(HEAP_BOUND);
    expect(atEnd.rss - afterWarmUp.rss).toBeLessThan(RSS_BOUND);
  });

  it('closes the connection of a packet over the size limit or a publish to a wildcard topic, and nothing else notices', async () => {
    const secret = await sw.provision('vol-closer', SITE);
    const port = sw.platform.mqttPort!;
    const before = (await sw.platform.metrics.rejected.get()).values.find((v) => v.labels.code === 'SW_ERR_PACKET_TOO_LARGE')?.value ?? 0;
    const offenders = [
      ...[1, 2, 3].map((k) => ({ topic: 'v1/devices/vol-closer/telemetry', payload: Buffer.alloc(sw.platform.config.mqtt.maxPacketBytes + k * 1000, 0x20) })),
      ...['v1/devices/vol-closer/+', 'v1/devices/#', '#', 'v1/devices/vol-closer/tele\u0000metry'].map((topic) => ({ topic, payload: Buffer.from('{}') })),
    ];
    for (const { topic, payload } of offenders) {
      const raw = await RawMqtt.open(port);
      expect((await raw.connect({ clientId: 'vol-closer', username: 'vol-closer', password: secret })).returnCode).toBe(0);
      raw.send({ cmd: 'publish', topic, payload, qos: 1, messageId: 1, retain: false, dup: false });
      await raw.closed;
      expect({ topic: topic.slice(0, 40), acked: raw.received.some((p) => p.cmd === 'puback') }).toEqual({ topic: topic.slice(0, 40), acked: false });
    }
    const after = (await sw.platform.metrics.rejected.get()).values.find((v) => v.labels.code === 'SW_ERR_PACKET_TOO_LARGE')?.value ?? 0;
    expect(after - before).toBe(3);
    expect(devices.every((d) => d.client.connected)).toBe(true);
    expect(await sw.platform.series.query({ deviceId: 'vol-closer', from: 0, to: Date.now() + 60_000 })).toEqual([]);
  });
});
