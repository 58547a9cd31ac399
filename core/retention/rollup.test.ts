import { describe, expect, it } from 'vitest';
import type { Reading } from '../schemas.js';
import { coarsen, resolutionFor, rollUp, stepStart } from './rollup.js';
import { replayReadings } from './series-read.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const DAY = 86_400_000;
const r = (ts: number, value: number, metric = 'water_level'): Reading => ({ deviceId: 'd', metric, value, ts, receivedAt: ts, zoneIds: [], ref: String(ts) });

describe('roll-ups', () => {
  it('aggregate count, min, max, sum and the newest value per device, metric and step', () => {
    const points = rollUp([r(T0 + 4 * MIN, 3), r(T0 + MIN, 5), r(T0 + 2 * MIN, 1), r(T0 + 6 * MIN, 2)], '5m');
    expect(points).toEqual([
      { deviceId: 'd', metric: 'water_level', start: T0, count: 3, min: 1, max: 5, sum: 9, last: 3, lastTs: T0 + 4 * MIN },
      { deviceId: 'd', metric: 'water_level', start: T0 + 5 * MIN, count: 1, min: 2, max: 2, sum: 2, last: 2, lastTs: T0 + 6 * MIN },
    ]);
  });

  it('make the same hour from 5-minute steps as from the readings', () => {
    const readings = Array.from({ length: 200 }, (_, i) => r(T0 + i * 37_000, Math.cos(i)));
    expect(coarsen(rollUp(readings, '5m'), '1h').map((p) => ({ ...p, sum: Math.round(p.sum * 1e9) }))).toEqual(rollUp(readings, '1h').map((p) => ({ ...p, sum: Math.round(p.sum * 1e9) })));
  });

  it('start steps at multiples of the step since the epoch', () => {
    expect(stepStart(T0 + 7 * MIN + 1, '5m')).toBe(T0 + 5 * MIN);
    expect(stepStart(T0 + 59 * MIN, '1h')).toBe(T0);
  });

  it('answer a period with the finest resolution still kept from its start', () => {
    const retention = { rawMs: 30 * DAY, fiveMinuteMs: 90 * DAY, hourMs: 1825 * DAY };
    const now = T0 + 400 * DAY;
    expect(resolutionFor(now - DAY, retention, now)).toBe('raw');
    expect(resolutionFor(now - 30 * DAY, retention, now)).toBe('raw');
    expect(resolutionFor(now - 30 * DAY - 1, retention, now)).toBe('5m');
    expect(resolutionFor(now - 90 * DAY - 1, retention, now)).toBe('1h');
    expect(resolutionFor(0, retention, now)).toBe('1h');
  });

  it('replay a step as its extremes in the order it ended, then its last value at its own time', () => {
    const [rising] = rollUp([r(T0, 1), r(T0 + MIN, 9), r(T0 + 3 * MIN, 8)], '5m');
    expect(replayReadings(rising!, '5m').map((x) => [x.ts, x.value])).toEqual([[T0, 1], [T0 + 90_000, 9], [T0 + 3 * MIN, 8]]);
    const [falling] = rollUp([r(T0, 9), r(T0 + MIN, 1), r(T0 + 4 * MIN, 2)], '5m');
    expect(replayReadings(falling!, '5m').map((x) => x.value)).toEqual([9, 1, 2]);
    const [single] = rollUp([r(T0 + 2 * MIN, 4)], '5m');
    expect(replayReadings(single!, '5m').map((x) => [x.ts, x.value])).toEqual([[T0 + 2 * MIN, 4]]);
  });
});
