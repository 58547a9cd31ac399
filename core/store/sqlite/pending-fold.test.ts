/**
 * The roll-up fold in memory: the embedded series store folds each reading into its 5-minute
 * step as it stores it, and the fold writes those steps instead of reading every reading back.
 * It uses them only when they hold every reading since the fold mark; otherwise the fold reads
 * the table, so the roll-ups are the same either way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectPoints } from '../../../test/contract/series.contract.js';
import { rollUp, sortPoints } from '../../retention/rollup.js';
import type { Reading } from '../../schemas.js';
import { PendingFold } from './pending-fold.js';
import { SqliteSeriesStore } from './series.js';

const T0 = Date.UTC(2026, 0, 1, 8);
const DAY = 86_400_000;
const reading = (device: number, second: number, value = second / 10, extra: Partial<Reading> = {}): Reading => ({
  deviceId: `d${device}`,
  metric: 'water_level',
  value,
  ts: T0 + second * 1_000,
  receivedAt: T0 + second * 1_000,
  zoneIds: [],
  ref: `r${device}-${second}`,
  ...extra,
});

/** Two hours of 5 devices, a reading every 40 s, with a unit and a place that change. */
function fleet(): Reading[] {
  const out: Reading[] = [];
  for (let s = 0; s < 7_200; s += 40) {
    for (let d = 0; d < 5; d++) out.push(reading(d, s, ((s * 7 + d * 13) % 101) / 10, s % 600 === 0 ? { unit: 'm', loc: { lat: 23 + d / 100, lon: 113 + s / 1e5 } } : {}));
  }
  return out;
}

describe('PendingFold', () => {
  it('folds readings into the 5-minute steps rollUp() makes, newest last, unit and place', () => {
    const all = fleet();
    const shuffled = [...all].reverse();
    const f = new PendingFold(0);
    f.add(
      shuffled.map((_, i) => i + 1),
      shuffled,
    );
    const steps = f.complete(0, all.length)!;
    expectPoints(sortPoints(steps), rollUp(all, '5m'));
  });

  it('is complete only when it holds every rowid since the mark', () => {
    const f = new PendingFold(10);
    f.add([11, 12], [reading(0, 0), reading(0, 1)]);
    expect(f.complete(10, 13)).toBeUndefined(); // rowid 13 was stored elsewhere
    f.add([9, 13], [reading(0, 2), reading(0, 3)]); // 9 is below the mark: folded already
    expect(f.complete(10, 13)).toHaveLength(1);
    expect(f.complete(10, 13)![0]!.count).toBe(3);
    expect(f.complete(11, 13)).toBeUndefined(); // another mark than the one it started from
    f.reset(13);
    expect(f.complete(13, 13)).toEqual([]);
    expect(f.size).toBe(0);
  });

  it('gives up past its bound of steps, and starts again from the next mark', () => {
    const f = new PendingFold(0, 3);
    f.add([1, 2, 3], [reading(0, 0), reading(1, 0), reading(2, 0)]);
    expect(f.complete(0, 3)).toHaveLength(3);
    f.add([4], [reading(3, 0)]);
    expect(f.size).toBe(0);
    expect(f.complete(0, 4)).toBeUndefined();
    f.reset(4);
    f.add([5], [reading(3, 0)]);
    expect(f.complete(4, 5)).toHaveLength(1);
  });
});

describe('SqliteSeriesStore roll-ups', () => {
  const dirs: string[] = [];
  const stores: SqliteSeriesStore[] = [];
  const open = (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-fold-'))): SqliteSeriesStore => {
    dirs.push(dir);
    const s = new SqliteSeriesStore(dir);
    stores.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const foldAll = async (s: SqliteSeriesStore): Promise<number> => {
    let n = 0;
    for (let k; (k = await s.rollUp(T0 + DAY, 50)) > 0; ) n += k;
    return n;
  };
  const range = { from: T0 - DAY, to: T0 + DAY };

  it('writes the steps folded as the readings were stored, without reading them back', async () => {
    const s = open();
    const all = fleet();
    for (let i = 0; i < all.length; i += 100) await s.write(all.slice(i, i + 100));
    await s.write(all.slice(0, 50)); // redelivered: stored once, folded once
    // Behind the store's back: a fold reading the table would see these values.
    s.database.prepare('UPDATE readings SET value = -1').run();
    // One step, whatever the step size asked: every reading since the mark is in memory.
    expect(await s.rollUp(T0 + DAY, 50)).toBe(all.length);
    expect(await s.rollUp(T0 + DAY, 50)).toBe(0);
    expectPoints(await s.queryRollups('5m', range), rollUp(all, '5m'));
    expectPoints(await s.queryRollups('1h', range), rollUp(all, '1h'));
  });

  it('folds from the table what an earlier process stored, then from memory again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-fold-'));
    const all = fleet();
    const half = all.length / 2;
    const first = open(dir);
    await first.write(all.slice(0, 200));
    expect(await first.rollUp(T0 + DAY, 50)).toBe(200);
    await first.write(all.slice(200, half));
    await first.close();
    stores.splice(0);

    const s = open(dir);
    await s.write(all.slice(half));
    // The readings of the first process are not in this one's memory: read back, in steps of 50.
    expect(await s.rollUp(T0 + DAY, 50)).toBe(50);
    await foldAll(s);
    expectPoints(await s.queryRollups('5m', range), rollUp(all, '5m'));
    expectPoints(await s.queryRollups('1h', range), rollUp(all, '1h'));
    // Caught up: what comes next is folded from memory in one step.
    const later = all.map((r) => ({ ...r, ts: r.ts + DAY / 2, ref: `${r.ref}-later` }));
    await s.write(later);
    expect(await s.rollUp(T0 + DAY, 50)).toBe(later.length);
    expectPoints(await s.queryRollups('5m', range), rollUp([...all, ...later], '5m'));
  });
});
