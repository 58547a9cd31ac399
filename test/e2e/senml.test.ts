/**
 * SenML over real MQTT: what a device is told about a pack, record by record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

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
