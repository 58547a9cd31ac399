/**
 * SenML over real MQTT: the RFC 8428 examples sent by devices provisioned through the API, each
 * record stored or refused on the errors topic; and what a device is told about a long refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import { collect, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { loadRfc8428Examples } from '../support/senml-rfc8428.js';

const SITE = { lat: 23.115, lon: 113.335 };

describe('SenML over MQTT', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('tells the first ten refusals of a pack one by one, then one SW_ERR_MORE_REJECTIONS counting the rest by code, and counts them all', async () => {
    const device = await sw.connect('senml-many', await sw.provision('senml-many', SITE));
    const errors = await collect(device, 'v1/devices/senml-many/errors');
    const before = (await sw.platform.metrics.rejected.get()).values;
    const count = (values: typeof before, code: string) => values.find((v) => v.labels.code === code)?.value ?? 0;
    // 12 names that map to nothing, 3 implausible values, one good record.
    const pack = [
      { bn: 'urn:dev:sw:senml-many:', n: 'temp', u: 'Cel', v: 21 },
      ...Array.from({ length: 12 }, (_, i) => ({ n: `gadget${i}`, v: i })),
      ...Array.from({ length: 3 }, (_, i) => ({ n: 'humidity', u: '%RH', v: 200 + i, t: -i - 1 })),
    ];
    await device.publishAsync('v1/devices/senml-many/senml', JSON.stringify(pack), { qos: 1 });
    await waitFor(() => errors.length >= 11 || undefined, 'eleven error messages');

    expect(errors.map((e) => e.json.code)).toEqual([...Array(10).fill('SW_ERR_METRIC_UNKNOWN'), 'SW_ERR_MORE_REJECTIONS']);
    expect(errors[10]!.json.message).toBe('5 more rejections in this publish, not sent one by one: SW_ERR_METRIC_UNKNOWN ×2, SW_ERR_METRIC_RANGE ×3');
    expect(new Set(errors.map((e) => e.json.ref)).size).toBe(1);
    const after = (await sw.platform.metrics.rejected.get()).values;
    expect(count(after, 'SW_ERR_METRIC_UNKNOWN') - count(before, 'SW_ERR_METRIC_UNKNOWN')).toBe(12);
    expect(count(after, 'SW_ERR_METRIC_RANGE') - count(before, 'SW_ERR_METRIC_RANGE')).toBe(3);
    expect(count(after, 'SW_ERR_MORE_REJECTIONS')).toBe(0);
    expect(await sw.platform.series.query({ deviceId: 'senml-many', from: 0, to: Date.now() + 60_000 })).toMatchObject([{ metric: 'temperature', value: 21 }]);
  });
});

describe('RFC 8428 section 5 examples over MQTT', () => {
  // The platform's clock is set to each example's time: the RFC dates its packs 2010 and 2011.
  const clock = new ManualClock(Date.parse('2025-11-21T08:00:00Z'));
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform({ clock });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it.each(loadRfc8428Examples().map((x) => [`${x.name}: ${x.title}`, x] as const))('%s', async (_name, x) => {
    clock.set(Date.parse(x.receivedAt));
    let secret = '';
    for (const d of x.devices) {
      const res = await sw.api('POST', '/api/devices', d);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      if (d.id === x.publisher) secret = res.body.secret as string;
    }
    const client = await sw.connect(x.publisher, secret);
    const errors = await collect(client, `v1/devices/${x.publisher}/errors`);
    await client.publishAsync(`v1/devices/${x.publisher}/senml`, JSON.stringify(x.pack), { qos: 1 });
    // The PUBACK says the pack is in the log: once the pipeline has caught up, its readings and
    // refusals exist.
    await sw.settled();
    await waitFor(() => errors.length >= x.expect.refused.length || undefined, `${x.expect.refused.length} refusals`);

    expect(errors.map((e) => e.json.code)).toEqual(x.expect.refused.map((r) => r.code));
    const stored = (await Promise.all(x.devices.map((d) => sw.platform.series.query({ deviceId: d.id, from: 0, to: Date.parse('2030-01-01T00:00:00Z') })))).flat();
    const order = (a: { deviceId: string; metric: string; ts: number }, b: typeof a) => a.ts - b.ts || a.deviceId.localeCompare(b.deviceId) || a.metric.localeCompare(b.metric);
    expect(stored.map(({ deviceId, metric, value, unit, ts, loc }) => ({ deviceId, metric, value, ...(unit === undefined ? {} : { unit }), ts, loc })).sort(order)).toEqual(
      x.expect.stored.map((s) => ({ ...s, loc: s.loc ?? x.devices.find((d) => d.id === s.deviceId)!.location })).sort(order),
    );
    // A mobile device's last position is kept with it.
    for (const p of x.expect.positions?.slice(-1) ?? []) expect((await sw.api('GET', `/api/devices/${p.deviceId}`)).body.position).toEqual({ ...p.loc, ts: p.ts });
  });
});
