/**
 * The vendor adapters over real MQTT: every sample payload of test/fixtures/payloads is
 * published by a real device connection; the readings land in the store, camera events on
 * `sw.events`, and each rejection on the device's errors topic and in `/metrics`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraEvent, DeadLetter } from '../../core/schemas.js';
import type { Subscription } from '../../core/ports.js';
import { collect, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { loadPayloadFixtures, payloadBytes } from '../support/payload-fixtures.js';

const SITE = { lat: 23.115, lon: 113.335 };

describe('vendor adapters end to end', () => {
  let sw: TestPlatform;
  let eventsTap: Subscription;
  let deadTap: Subscription;
  const events: CameraEvent[] = [];
  const dead: DeadLetter[] = [];

  beforeAll(async () => {
    // The samples keep the times of the documents they come from (Frigate's reaches back to 2020).
    sw = await startTestPlatform({ env: { STREETWATCH_MAX_READING_AGE: '3650d' } });
    eventsTap = await sw.platform.bus.subscribe('sw.events', 'test-events-tap', async (records) => {
      for (const r of records) events.push(r.value);
    });
    deadTap = await sw.platform.bus.subscribe('sw.deadletter', 'test-deadletter-tap', async (records) => {
      for (const r of records) dead.push(r.value);
    });
  });
  afterAll(async () => {
    await eventsTap?.close();
    await deadTap?.close();
    await sw?.stop();
  });

  const fixtures = loadPayloadFixtures();

  it.each(fixtures.map((f, i) => [f.name, f, i] as const))('%s', async (_name, f, i) => {
    const id = `fx-${i}`;
    const device = await sw.connect(id, await sw.provision(id, SITE, f.topic.startsWith('frigate') ? 'nvr' : 'sensor'));
    const errors = await collect(device, `v1/devices/${id}/errors`);
    await device.publishAsync(`v1/devices/${id}/${f.topic}`, payloadBytes(f), { qos: 1 });
    // The PUBACK means the publish is in the log: its readings and errors come once the pipeline caught up.
    await sw.settled();
    await waitFor(() => errors.length >= f.expect.codes.length || undefined, `${f.expect.codes.length} error messages`);

    expect(errors.map((e) => e.json.code)).toEqual(f.expect.codes);
    for (const e of errors) expect(e.json).toMatchObject({ topic: `v1/devices/${id}/${f.topic}`, ref: expect.any(String), message: expect.any(String) });
    const stored = await sw.platform.series.query({ deviceId: id, from: 0, to: Date.now() + 60_000 });
    // The store answers in (ts, device, metric) order.
    const byTimeThenMetric = (a: Record<string, unknown>, b: Record<string, unknown>): number => (a.ts as number) - (b.ts as number) || String(a.metric).localeCompare(String(b.metric));
    expect(stored).toMatchObject([...(f.expect.readings ?? [])].sort(byTimeThenMetric));
    for (const r of stored) expect(r).toMatchObject({ loc: SITE, subcenterId: 'south' });
    expect(events.filter((e) => e.deviceId === id)).toMatchObject(f.expect.events ?? []);
    // Each refusal is dead-lettered with the payload as it was sent.
    const letters = dead.filter((d) => d.deviceId === id);
    expect(letters.map((d) => d.code)).toEqual(f.expect.codes);
    for (const d of letters) expect(Buffer.from(d.payload, 'base64')).toEqual(payloadBytes(f));
  });

  it('counts every rejection by code in /metrics', async () => {
    const expected = new Map<string, number>();
    for (const f of fixtures) for (const c of f.expect.codes) expected.set(c, (expected.get(c) ?? 0) + 1);
    const metrics = (await sw.api<string>('GET', '/metrics')).body;
    for (const [code, n] of expected) expect(metrics).toContain(`streetwatch_rejected_total{code="${code}"} ${n}`);
  });

  it('ignores the other Frigate topics under the prefix, without an error', async () => {
    const device = await sw.connect('nvr-quiet', await sw.provision('nvr-quiet', SITE, 'nvr'));
    const errors = await collect(device, 'v1/devices/nvr-quiet/errors');
    for (const [topic, payload] of [['frigate/available', 'online'], ['frigate/gate_east/person', '1'], ['frigate/stats', '{"cpu_usages":{}}'], ['frigate/reviews', '{"type":"new"}']] as const) {
      await device.publishAsync(`v1/devices/nvr-quiet/${topic}`, payload, { qos: 1 });
    }
    await device.publishAsync('v1/devices/nvr-quiet/nonsense', '{}', { qos: 1 });
    await waitFor(() => errors.length >= 1 || undefined, 'the error for the unknown topic');
    expect(errors.map((e) => e.json.code)).toEqual(['SW_ERR_TOPIC_UNKNOWN']);
  });
});
