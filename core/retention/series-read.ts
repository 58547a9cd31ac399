/**
 * Reading a period back from the time-series store at the resolution that still holds it: raw
 * readings while they are kept, then 5-minute roll-ups, then hourly ones. Charts, the backtest
 * and any tool that reads history go through here, so they work the same on old periods and in
 * both modes (the stores only keep and fold; the choice is made here).
 */
import type { Resolution, RollupPoint, RollupResolution, SeriesQuery, SeriesStore } from '../ports.js';
import type { Reading } from '../schemas.js';
import { STEP_MS, horizons, resolutionFor, rollUp, sortPoints, type SeriesRetention } from './rollup.js';

/** Rows one query asks for when a caller pages through a period. */
export const DEFAULT_PAGE_ROWS = 20_000;
/** Points a read returns when it sets no limit. */
export const DEFAULT_READ_LIMIT = 100_000;

export interface SeriesAnswer {
  resolution: Resolution;
  /** Oldest first; at `raw` each point is one reading (count 1, start = its timestamp). */
  points: RollupPoint[];
  /** True when `limit` cut the answer short. */
  truncated: boolean;
}

/**
 * Rows of [from, to) page by page, each fetched with `fetch(from, to, limit)`: a slice that
 * holds more than a page is halved until it fits, a sparse one doubles the next.
 */
export async function* slices<T>(fetch: (from: number, to: number, limit: number) => Promise<T[]>, from: number, to: number, pageSize = DEFAULT_PAGE_ROWS): AsyncGenerator<T[]> {
  let start = from;
  let span = Math.max(1, to - from);
  while (start < to) {
    const end = Math.min(to, start + span);
    // One more than a page: a full page alone would not tell whether more were left out.
    const page = await fetch(start, end, pageSize + 1);
    if (page.length > pageSize) {
      if (end - start <= 1) throw new Error(`more than ${pageSize} rows at ${new Date(start).toISOString()}: raise the page size`);
      span = Math.max(1, Math.floor((end - start) / 2));
      continue;
    }
    yield page;
    start = end;
    if (page.length < pageSize / 4) span *= 2;
  }
}

function rawPoint(r: Reading): RollupPoint {
  const p: RollupPoint = { deviceId: r.deviceId, metric: r.metric, start: r.ts, count: 1, min: r.value, max: r.value, sum: r.value, last: r.value, lastTs: r.ts };
  if (r.unit !== undefined) p.unit = r.unit;
  if (r.loc) p.loc = r.loc;
  return p;
}

/**
 * Where stored roll-ups end and raw readings take over for a read at `now`: the first step
 * boundary within the raw retention. Steps before it are answered from the stored roll-ups
 * (complete: every reading of theirs was folded long ago), steps from it are folded from the raw
 * readings as they are read, so the answer is complete up to `to`, however recent.
 */
export function rollupSplit(resolution: RollupResolution, retention: SeriesRetention, now: number): number {
  const step = STEP_MS[resolution];
  return Math.ceil(horizons(retention, now).raw / step) * step;
}

/** The period [q.from, q.to) at the finest resolution that holds it (or the one asked for). */
export async function readSeries(store: SeriesStore, retention: SeriesRetention, q: SeriesQuery, now: number, resolution?: Resolution): Promise<SeriesAnswer> {
  const res = resolution ?? resolutionFor(q.from, retention, now);
  const limit = q.limit ?? DEFAULT_READ_LIMIT;
  const filter: Pick<SeriesQuery, 'deviceId' | 'metric'> = {};
  if (q.deviceId !== undefined) filter.deviceId = q.deviceId;
  if (q.metric !== undefined) filter.metric = q.metric;
  if (res === 'raw') {
    const readings = await store.query({ ...filter, from: q.from, to: q.to, limit });
    return { resolution: res, points: readings.map(rawPoint), truncated: readings.length >= limit };
  }
  const split = Math.max(q.from, Math.min(q.to, rollupSplit(res, retention, now)));
  const points: RollupPoint[] = split > q.from ? await store.queryRollups(res, { ...filter, from: q.from, to: split, limit: limit + 1 }) : [];
  if (points.length <= limit && split < q.to) {
    const recent: Reading[] = [];
    for await (const page of slices((from, to, n) => store.query({ ...filter, from, to, limit: n }), split, q.to)) recent.push(...page);
    points.push(...rollUp(recent, res));
  }
  sortPoints(points);
  const truncated = points.length > limit;
  return { resolution: res, points: truncated ? points.slice(0, limit) : points, truncated };
}

/**
 * A roll-up step replayed as readings: its extremes, then its last value at its own time, so a
 * threshold sees the peaks; the order of the extremes follows where the step ended (a step that
 * ended high rose last). Durations and rates are only as fine as the step.
 */
export function replayReadings(p: RollupPoint, resolution: RollupResolution): Reading[] {
  const base = { deviceId: p.deviceId, metric: p.metric, zoneIds: [] as string[], ref: `rollup:${resolution}:${p.start}` };
  const at = (value: number, ts: number): Reading => {
    const r: Reading = { ...base, value, ts, receivedAt: ts };
    if (p.unit !== undefined) r.unit = p.unit;
    if (p.loc) r.loc = p.loc;
    return r;
  };
  if (p.count === 1 || p.min === p.max) return [at(p.last, p.lastTs)];
  const endedHigh = p.max - p.last <= p.last - p.min;
  const [first, second] = endedHigh ? [p.min, p.max] : [p.max, p.min];
  const mid = p.start + Math.floor((p.lastTs - p.start) / 2);
  const out = [at(first, p.start), at(second, mid), at(p.last, p.lastTs)];
  // Readings of one device and metric have distinct times: a step whose last value came at its start keeps one.
  return out.filter((r, i) => i === out.length - 1 || r.ts < out[i + 1]!.ts);
}

/**
 * Every reading of [from, to) for a replay, oldest first, page by page: raw readings from the
 * oldest one the store still holds (they are pruned oldest first, so from there on they are all
 * there), and before that each roll-up step replayed as readings (replayReadings): 5-minute steps
 * while they are kept, hourly ones before. What the store holds decides, not the retention in
 * force: a store the retention job has not pruned yet is replayed from its readings.
 */
export async function* historyPages(store: SeriesStore, from: number, to: number, pageSize = DEFAULT_PAGE_ROWS): AsyncGenerator<{ resolution: Resolution; readings: Reading[] }> {
  const { oldest } = await store.stats();
  const ceil = (t: number | null, res: RollupResolution): number => (t === null ? Infinity : Math.ceil(t / STEP_MS[res]) * STEP_MS[res]);
  // A step that straddles the oldest reading is replayed from the roll-ups, and the readings from the next step on.
  const rawFrom = Math.max(from, Math.min(to, oldest.raw === null ? to : ceil(oldest.raw, '5m')));
  const fiveFrom = Math.max(from, Math.min(rawFrom, ceil(oldest['5m'], '1h')));
  const periods: [Resolution, number, number][] = [
    ['1h', from, fiveFrom],
    ['5m', fiveFrom, rawFrom],
    ['raw', rawFrom, to],
  ];
  for (const [resolution, start, end] of periods) {
    if (start >= end) continue;
    if (resolution === 'raw') {
      for await (const readings of slices((f, t, n) => store.query({ from: f, to: t, limit: n }), start, end, pageSize)) yield { resolution, readings };
    } else {
      for await (const points of slices((f, t, n) => store.queryRollups(resolution, { from: f, to: t, limit: n }), start, end, pageSize)) {
        const readings = points.flatMap((p) => replayReadings(p, resolution)).sort((a, b) => a.ts - b.ts);
        yield { resolution, readings };
      }
    }
  }
}
