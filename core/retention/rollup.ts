/**
 * Roll-ups: per device and metric, the count, min, max, sum and last value of each 5-minute and
 * 1-hour step. Pure: the stores keep them, the retention job makes them, the readings query
 * answers from them. The SQLite store folds readings with SQL that follows these definitions;
 * InfluxDB's roll-ups are made here, so both stores answer alike (test/contract/series.contract.ts).
 */
import type { Resolution, RollupPoint, RollupResolution } from '../ports.js';
import type { Reading } from '../schemas.js';

export const ROLLUP_RESOLUTIONS: readonly RollupResolution[] = ['5m', '1h'];
export const STEP_MS: Readonly<Record<RollupResolution, number>> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

/** Start of the step holding `ts`. */
export function stepStart(ts: number, resolution: RollupResolution): number {
  const step = STEP_MS[resolution];
  return Math.floor(ts / step) * step;
}

export function rollupKey(p: Pick<RollupPoint, 'deviceId' | 'metric' | 'start'>): string {
  return `${p.deviceId}\u0000${p.metric}\u0000${p.start}`;
}

function pointOf(r: Reading, start: number): RollupPoint {
  const p: RollupPoint = { deviceId: r.deviceId, metric: r.metric, start, count: 1, min: r.value, max: r.value, sum: r.value, last: r.value, lastTs: r.ts };
  if (r.unit !== undefined) p.unit = r.unit;
  if (r.loc) p.loc = r.loc;
  return p;
}

/** Folds `b` into `a` (same device, metric and step): the newest value wins `last`, ties to `b`. */
export function combine(a: RollupPoint, b: RollupPoint): RollupPoint {
  const newer = b.lastTs >= a.lastTs ? b : a;
  const out: RollupPoint = {
    deviceId: a.deviceId,
    metric: a.metric,
    start: a.start,
    count: a.count + b.count,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sum: a.sum + b.sum,
    last: newer.last,
    lastTs: newer.lastTs,
  };
  if (newer.unit !== undefined) out.unit = newer.unit;
  if (newer.loc) out.loc = newer.loc;
  return out;
}

/** Roll-ups of readings at a resolution, by (start, device, metric). */
export function rollUp(readings: Iterable<Reading>, resolution: RollupResolution): RollupPoint[] {
  const out = new Map<string, RollupPoint>();
  for (const r of readings) {
    const p = pointOf(r, stepStart(r.ts, resolution));
    const key = rollupKey(p);
    const prev = out.get(key);
    out.set(key, prev ? combine(prev, p) : p);
  }
  return sortPoints([...out.values()]);
}

/** Coarser roll-ups from finer ones (5 minutes to 1 hour). */
export function coarsen(points: Iterable<RollupPoint>, resolution: RollupResolution): RollupPoint[] {
  const out = new Map<string, RollupPoint>();
  for (const p of points) {
    const q = { ...p, start: stepStart(p.start, resolution) };
    const key = rollupKey(q);
    const prev = out.get(key);
    out.set(key, prev ? combine(prev, q) : q);
  }
  return sortPoints([...out.values()]);
}

export function sortPoints(points: RollupPoint[]): RollupPoint[] {
  return points.sort((a, b) => a.start - b.start || cmp(a.deviceId, b.deviceId) || cmp(a.metric, b.metric));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** How long each resolution is kept: raw readings, then the 5-minute and the 1-hour roll-ups. */
export interface SeriesRetention {
  rawMs: number;
  fiveMinuteMs: number;
  hourMs: number;
}

/** Oldest time each resolution still holds in full at `now`. */
export function horizons(retention: SeriesRetention, now: number): Record<Resolution, number> {
  return { raw: now - retention.rawMs, '5m': now - retention.fiveMinuteMs, '1h': now - retention.hourMs };
}

/**
 * The finest resolution that still holds a period starting at `from`: raw readings while they
 * are kept, then 5-minute roll-ups, then hourly ones.
 */
export function resolutionFor(from: number, retention: SeriesRetention, now: number): Resolution {
  const h = horizons(retention, now);
  if (from >= h.raw) return 'raw';
  if (from >= h['5m']) return '5m';
  return '1h';
}
