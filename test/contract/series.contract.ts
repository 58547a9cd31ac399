/**
 * The contract every SeriesStore adapter passes. Device ids are random per test, so adapters
 * backed by a shared server stay independent.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SeriesStore } from '../../core/ports.js';
import type { Reading } from '../../core/schemas.js';

export function reading(deviceId: string, metric: string, ts: number, value: number, extra: Partial<Reading> = {}): Reading {
  return { deviceId, metric, value, ts, receivedAt: ts + 5, zoneIds: [], ref: randomUUID(), ...extra };
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
    });
  });
}
