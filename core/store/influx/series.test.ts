import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { reading, seriesContract } from '../../../test/contract/series.contract.js';
import { dropNamespace, testNamespace, testServices } from '../../../test/support/backends.js';
import { isStreetWatchError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import type { Reading } from '../../schemas.js';
import { InfluxSeriesStore } from './series.js';

const services = testServices();
const logger = createLogger(process.env.SW_TEST_LOG ?? 'silent');

describe.skipIf(!services)('InfluxSeriesStore', () => {
  const namespace = testNamespace();
  const used = [namespace];
  const open = (over: Partial<ConstructorParameters<typeof InfluxSeriesStore>[0]> = {}): InfluxSeriesStore =>
    new InfluxSeriesStore({ url: services!.INFLUX_URL, token: services!.INFLUX_TOKEN, org: services!.INFLUX_ORG, bucket: services!.INFLUX_BUCKET, namespace, logger, ...over });
  afterAll(() => Promise.all(used.map((ns) => dropNamespace(services!, ns))));

  // A namespace per store, as each SQLite store is a file of its own: the fold mark is per namespace.
  seriesContract('influxdb', async () => {
    const ns = testNamespace();
    used.push(ns);
    const s = open({ namespace: ns });
    await s.connect();
    return s;
  });

  it('writes a batch larger than one request, all of it readable with Flux before write resolves', async () => {
    const s = open({ writeBatch: 1_000 });
    await s.connect();
    const dev = `dev-${randomUUID().slice(0, 8)}`;
    const t0 = Date.UTC(2026, 10, 21, 9, 0, 0);
    const batch: Reading[] = [];
    for (let i = 0; i < 4_500; i++) batch.push(reading(dev, 'noise', t0 + i, 40 + (i % 30), { zoneIds: ['z-market'], subcenterId: 'south', unit: 'dBA' }));
    await s.write(batch);
    const back = await s.query({ deviceId: dev, from: t0, to: t0 + 10_000 });
    expect(back).toHaveLength(4_500);
    expect(back[4_499]).toEqual(batch[4_499]);
    await s.close();
  });

  it('answers SW_ERR_UNAVAILABLE, naming the URL, when InfluxDB cannot be reached', async () => {
    const s = open({ url: 'http://127.0.0.1:1', timeoutMs: 2_000 });
    const failure = await s.connect().catch((e: unknown) => e);
    expect(isStreetWatchError(failure, 'SW_ERR_UNAVAILABLE')).toBe(true);
    expect((failure as Error).message).toContain('InfluxDB at http://127.0.0.1:1');
    await expect(s.write([reading('d', 'noise', Date.now(), 1)])).rejects.toSatisfy((e) => isStreetWatchError(e, 'SW_ERR_UNAVAILABLE'));
  });
});
