/**
 * The contract every SeriesStore adapter passes. Device ids are random per test, so adapters
 * backed by a shared server stay independent.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RollupPoint, SeriesStore } from '../../core/ports.js';
import { rollUp } from '../../core/retention/rollup.js';
import { readSeries } from '../../core/retention/series-read.js';
import type { Reading } from '../../core/schemas.js';

export function reading(deviceId: string, metric: string, ts: number, value: number, extra: Partial<Reading> = {}): Reading {
  return { deviceId, metric, value, ts, receivedAt: ts + 5, zoneIds: [], ref: randomUUID(), ...extra };
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Folds everything written so far into the roll-ups (as if each reading had arrived on time). */
export async function foldAll(s: SeriesStore, now: number): Promise<void> {
  while ((await s.rollUp(now, 5_000)) > 0);
}

/** Roll-up points compared field by field; sums (and means) up to float rounding. */
export function expectPoints(actual: readonly RollupPoint[], expected: readonly RollupPoint[]): void {
  const exact = (p: RollupPoint) => ({ ...p, sum: undefined, loc: undefined });
  expect(actual.map(exact)).toEqual(expected.map(exact));
  actual.forEach((p, i) => {
    expect(p.sum).toBeCloseTo(expected[i]!.sum, 6);
    if (expected[i]!.loc) {
      expect(p.loc!.lat).toBeCloseTo(expected[i]!.loc!.lat, 6);
      expect(p.loc!.lon).toBeCloseTo(expected[i]!.loc!.lon, 6);
    } else expect(p.loc).toBeUndefined();
  });
}

export function seriesContract(name: string, makeStore: () => Promise<SeriesStore>): void {
  describe(`SeriesStore contract: ${name}`, () => {
    const open: SeriesStore[] = [];
    const store = async (): Promise<SeriesStore> => {
      const s = await makeStore();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });
    const t0 = Date.UTC(2026, 10, 21, 8, 0, 0);

    it('reads back what it wrote, with location, zones and sub-center', async () => {
      const s = await store();
      const dev = `dev-${randomUUID().slice(0, 8)}`;
      const r = reading(dev, 'water_level', t0, 0.42, { unit: 'm', loc: { lat: 23.145, lon: 113.325 }, zoneIds: ['z-a', 'z-b'], subcenterId: 'linhe' });
      await s.write([r]);
      const back = await s.query({ deviceId: dev, from: t0 - 1000, to: t0 + 1000 });
      expect(back).toHaveLength(1);
      expect(back[0]).toMatchObject({ deviceId: dev, metric: 'water_level', value: 0.42, ts: t0, unit: 'm', zoneIds: ['z-a', 'z-b'], subcenterId: 'linhe' });
      expect(back[0]!.loc!.lat).toBeCloseTo(23.145, 6);
      expect(back[0]!.loc!.lon).toBeCloseTo(113.325, 6);
    });

    it('keeps one point per device, metric and timestamp', async () => {
      const s = await store();
      const dev = `dev-${randomUUID().slice(0, 8)}`;
      await s.write([reading(dev, 'smoke', t0, 3)]);
      await s.write([reading(dev, 'smoke', t0, 3), reading(dev, 'smoke', t0 + 1, 4)]);
      const back = await s.query({ deviceId: dev, metric: 'smoke', from: t0, to: t0 + 10 });
      expect(back.map((r) => [r.ts, r.value])).toEqual([
        [t0, 3],
        [t0 + 1, 4],
      ]);
    });

    it('filters by time range [from, to) and metric, oldest first', async () => {
      const s = await store();
      const dev = `dev-${randomUUID().slice(0, 8)}`;
      const batch: Reading[] = [];
      for (let i = 0; i < 50; i++) batch.push(reading(dev, i % 2 ? 'noise' : 'pm25', t0 + i * 1000, i));
      await s.write(batch.reverse());
      const back = await s.query({ deviceId: dev, metric: 'noise', from: t0 + 10_000, to: t0 + 20_000 });
      expect(back.map((r) => r.value)).toEqual([11, 13, 15, 17, 19]);
      // A reading exactly at `to` is outside (InfluxDB 1.8's Flux range alone would let it in).
      const even = await s.query({ deviceId: dev, metric: 'pm25', from: t0 + 10_000, to: t0 + 20_000 });
      expect(even.map((r) => r.value)).toEqual([10, 12, 14, 16, 18]);
    });

    it('folds readings into 5-minute and hourly roll-ups: count, min, max, sum and the newest value with its unit and place', async () => {
      const s = await store();
      const dev = `dev-${randomUUID().slice(0, 8)}`;
      const batch: Reading[] = [];
      // Two hours of a reading every 40 s, in two metrics, written newest first.
      for (let i = 0; i < 180; i++) {
        const loc = { lat: 23.1 + i / 1e4, lon: 113.3 };
        batch.push(reading(dev, 'water_level', t0 + i * 40_000, Math.sin(i / 7) + 1, { unit: 'm', loc }), reading(dev, 'rainfall', t0 + i * 40_000 + 1, i % 13, { unit: 'mm/h' }));
      }
      await s.write(batch.reverse());
      await foldAll(s, t0 + 3 * HOUR);
      const range = { deviceId: dev, from: t0 - HOUR, to: t0 + 3 * HOUR };
      expectPoints(await s.queryRollups('5m', range), rollUp(batch, '5m'));
      expectPoints(await s.queryRollups('1h', range), rollUp(batch, '1h'));
      expectPoints(await s.queryRollups('1h', { ...range, metric: 'rainfall' }), rollUp(batch.filter((r) => r.metric === 'rainfall'), '1h'));
    });

    it('folds a late reading into the steps it belongs to, and a redelivered one not at all', async () => {
      const s = await store();
      const dev = `dev-${randomUUID().slice(0, 8)}`;
      const first = Array.from({ length: 30 }, (_, i) => reading(dev, 'noise', t0 + i * MIN, 40 + i));
      await s.write(first);
      await foldAll(s, t0 + 3 * HOUR);
      const late = reading(dev, 'noise', t0 + 7 * MIN + 30_000, 95);
      await s.write([late, first[3]!]);
      await foldAll(s, t0 + 4 * HOUR);
      const all = [...first, late];
      const range = { deviceId: dev, from: t0, to: t0 + HOUR };
      expectPoints(await s.queryRollups('5m', range), rollUp(all, '5m'));
      expectPoints(await s.queryRollups('1h', range), rollUp(all, '1h'));
      expect((await s.queryRollups('1h', range))[0]).toMatchObject({ count: 31, max: 95, last: 69 });
    });

    it('merges a reading that arrives after its step was folded and its readings pruned, once', async () => {
      const s = await store();
      const dev = `dev-${randomUUID().slice(0, 8)}`;
      const first = Array.from({ length: 12 }, (_, i) => reading(dev, 'noise', t0 + i * MIN, 40 + i));
      await s.write(first);
      const later = t0 + 60 * DAY;
      await s.write([reading(dev, 'noise', later, 1, { receivedAt: later })]);
      await foldAll(s, later + HOUR);
      while ((await s.prune('raw', later - 30 * DAY, 5_000)) > 0);
      // Buffered for two months by the device, then sent twice.
      const old = reading(dev, 'noise', t0 + 2 * MIN + 30_000, 99, { receivedAt: later + HOUR });
      await s.write([old]);
      await s.write([old]);
      await foldAll(s, later + 2 * HOUR);
      const range = { deviceId: dev, from: t0, to: t0 + HOUR };
      expectPoints(await s.queryRollups('5m', range), rollUp([...first, old], '5m'));
      expectPoints(await s.queryRollups('1h', range), rollUp([...first, old], '1h'));
    });

    it('prunes each resolution by age, and readings only once they are folded', async () => {
      const s = await store();
      const dev = `dev-${randomUUID().slice(0, 8)}`;
      const batch = Array.from({ length: 48 }, (_, i) => reading(dev, 'pm25', t0 + i * 30 * MIN, i));
      await s.write(batch);
      const all = { deviceId: dev, from: t0 - DAY, to: t0 + 2 * DAY };
      // Nothing folded yet: the readings stay whatever their age.
      expect(await s.prune('raw', t0 + 2 * DAY, 1_000)).toBe(0);
      await foldAll(s, t0 + 2 * DAY);
      const cut = t0 + 12 * HOUR;
      let deleted = 0;
      for (let n; (n = await s.prune('raw', cut, 5)) > 0; ) deleted += n;
      expect(deleted).toBe(24);
      expect((await s.query(all)).map((r) => r.ts)).toEqual(batch.slice(24).map((r) => r.ts));
      expect(await s.queryRollups('5m', all)).toHaveLength(48);
      while ((await s.prune('5m', t0 + 18 * HOUR, 1_000)) > 0);
      expect((await s.queryRollups('5m', all)).map((p) => p.start)).toEqual(batch.slice(36).map((r) => r.ts));
      expect(await s.queryRollups('1h', all)).toHaveLength(24);
    });

    it('answers a period at the finest resolution that holds it, the same way in every store', async () => {
      const s = await store();
      const dev = `dev-${randomUUID().slice(0, 8)}`;
      const now = t0 + 8 * DAY;
      const retention = { rawMs: DAY, fiveMinuteMs: 3 * DAY, hourMs: 30 * DAY };
      // Eight days of a reading every 10 minutes.
      const batch = Array.from({ length: 8 * 144 }, (_, i) => reading(dev, 'water_level', t0 + i * 10 * MIN + 7_000, (i % 50) / 10, { unit: 'm' }));
      await s.write(batch);
      await foldAll(s, now);
      // What the retention job leaves at `now`.
      while ((await s.prune('raw', now - retention.rawMs, 5_000)) > 0);
      while ((await s.prune('5m', now - retention.fiveMinuteMs, 5_000)) > 0);
      const inRange = (from: number, to: number) => batch.filter((r) => r.ts >= from && r.ts < to);
      const read = (from: number) => readSeries(s, retention, { deviceId: dev, from, to: now }, now);

      const recent = await read(now - 12 * HOUR);
      expect(recent.resolution).toBe('raw');
      expect(recent.points.map((p) => [p.start, p.last])).toEqual(inRange(now - 12 * HOUR, now).map((r) => [r.ts, r.value]));

      // Two days: the day raw readings no longer hold comes from the stored 5-minute steps, the
      // last day from the readings, folded the same way.
      const twoDays = await read(now - 2 * DAY);
      expect(twoDays.resolution).toBe('5m');
      expectPoints(twoDays.points, rollUp(inRange(now - 2 * DAY, now), '5m'));

      const week = await read(now - 7 * DAY);
      expect(week.resolution).toBe('1h');
      expectPoints(week.points, rollUp(inRange(now - 7 * DAY, now), '1h'));
      expect(week.points.reduce((n, p) => n + p.count, 0)).toBe(inRange(now - 7 * DAY, now).length);
    });
  });
}
