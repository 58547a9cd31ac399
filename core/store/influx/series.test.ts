import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { expectPoints, reading, seriesContract } from '../../../test/contract/series.contract.js';
import { rollUp } from '../../retention/rollup.js';
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

  it('keeps roll-ups in a bucket of their own, and leaves the readings to their bucket\'s retention', async () => {
    // InfluxDB 1.8: a retention policy is a bucket (`database/policy`); 2.x: a second bucket.
    const db = services!.INFLUX_BUCKET.split('/')[0]!;
    const policy = 'swtest_rollups';
    const created = await fetch(`${services!.INFLUX_URL}/query?db=${db}`, {
      method: 'POST',
      headers: { authorization: `Token ${services!.INFLUX_TOKEN}` },
      body: new URLSearchParams({ q: `CREATE RETENTION POLICY "${policy}" ON "${db}" DURATION INF REPLICATION 1` }),
    });
    await created.body?.cancel();
    const ns = testNamespace();
    used.push(ns);
    const s = open({ namespace: ns, rollupBucket: `${db}/${policy}` });
    await s.connect();
    const dev = `dev-${randomUUID().slice(0, 8)}`;
    const t0 = Date.UTC(2026, 10, 21, 9, 0, 0);
    const batch = Array.from({ length: 60 }, (_, i) => reading(dev, 'noise', t0 + i * 60_000, 40 + (i % 9)));
    await s.write(batch);
    while ((await s.rollUp(t0 + 3 * 3_600_000, 5_000)) > 0);
    const range = { deviceId: dev, from: t0, to: t0 + 3_600_000 };
    expectPoints(await s.queryRollups('1h', range), rollUp(batch, '1h'));
    // Beside the readings there are none: they are in their own bucket.
    expect(await open({ namespace: ns }).queryRollups('1h', range)).toEqual([]);
    expect(await s.prune('raw', t0 + 3_600_000, 5_000)).toBe(0);
    expect(await s.query(range)).toHaveLength(60);
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
