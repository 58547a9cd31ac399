/**
 * Roll-ups in InfluxDB, made by StreetWatch itself (InfluxDB 3 has no Flux tasks, and 1.8's
 * continuous queries are InfluxQL): the readings of each 5-minute step are read back, folded with
 * core/retention/rollup.ts and written as points of their own measurement; an hour is folded from
 * its 5-minute steps once it is complete. How far the fold went is kept in a point of the meta
 * measurement, so any process can go on from there. A reading that arrives after its step was
 * folded makes its steps be folded again from the readings (idempotent: a point of a step is
 * rewritten whole); one older than the raw retention, whose step's readings are partly pruned,
 * is merged into the step instead, once.
 *
 * Schema: docs/influxdb-schema.md.
 */
import { Point, flux, fluxDateTime, fluxExpression, fluxInteger, fluxString, type QueryApi } from '@influxdata/influxdb-client';
import type { RollupPoint, RollupResolution, SeriesQuery } from '../../ports.js';
import { STEP_MS, coarsen, combine, rollUp, stepStart } from '../../retention/rollup.js';
import { slices } from '../../retention/series-read.js';
import type { Reading } from '../../schemas.js';

/** How long after a 5-minute step ends it is folded: readings still on their way get in first. */
export const DEFAULT_ROLLUP_LAG_MS = 2 * 60_000;
/** How long a process trusts the fold mark it read before reading it again (late readings). */
const MARK_TTL_MS = 5_000;
/** Flux times end in 2262 (int64 nanoseconds). */
export const MAX_FLUX_MS = Date.UTC(2262, 0, 1);
const DAY_MS = 86_400_000;
/** The longest period one fold reads at once (a sparse history is folded in few queries). */
const MAX_SPAN_MS = 7 * DAY_MS;

/** Field names of a roll-up point. */
export const ROLLUP_FIELDS = { count: 'count', min: 'min', max: 'max', sum: 'sum', last: 'last', lastTs: 'last_ts', unit: 'unit', lat: 'lat', lon: 'lon' } as const;

interface RollupRow {
  _time: string;
  device: string;
  metric: string;
  count: number;
  min: number;
  max: number;
  sum: number;
  last: number;
  last_ts: number;
  unit?: string | null;
  lat?: number | null;
  lon?: number | null;
}

export interface InfluxRollupDeps {
  /** Where the readings are. */
  bucket: string;
  /** Where the roll-ups and the fold mark are: the readings' bucket, or one of their own. */
  rollupBucket: string;
  /** Measurement of the readings; roll-ups are `${raw}_5m` and `${raw}_1h`, the mark `${raw}_meta`. */
  raw: string;
  query: QueryApi;
  /** Writes points to the roll-up bucket, resolving once InfluxDB has them. */
  write(points: Point[]): Promise<void>;
  /** Reads raw readings of [from, to), with filters, oldest first. */
  readings(q: SeriesQuery): Promise<Reading[]>;
  /** Collects rows of a Flux query (errors mapped by the store). */
  rows<T>(query: ReturnType<typeof flux>): Promise<T[]>;
  lagMs: number;
  rawRetentionMs: number;
}

export const fluxTime = (ms: number): ReturnType<typeof fluxDateTime> => fluxDateTime(new Date(Math.min(Math.max(0, ms), MAX_FLUX_MS)).toISOString());

export class InfluxRollups {
  readonly measurements: Readonly<Record<RollupResolution, string>>;
  readonly meta: string;
  private mark: { value: number | undefined; readAt: number } | undefined;

  constructor(private readonly d: InfluxRollupDeps) {
    this.measurements = { '5m': `${d.raw}_5m`, '1h': `${d.raw}_1h` };
    this.meta = `${d.raw}_meta`;
  }

  async query(resolution: RollupResolution, q: SeriesQuery, limit: number): Promise<RollupPoint[]> {
    const from = Math.max(0, q.from);
    const to = Math.min(MAX_FLUX_MS, q.to);
    if (!(from < to)) return [];
    // InfluxDB 1.8's Flux lets a point at `stop` through: [from, to) is enforced here too.
    const filters = [flux`r._measurement == ${this.measurements[resolution]}`, flux`r._time < ${fluxTime(to)}`];
    if (q.deviceId !== undefined) filters.push(flux`r.device == ${fluxString(q.deviceId)}`);
    if (q.metric !== undefined) filters.push(flux`r.metric == ${fluxString(q.metric)}`);
    const rows = await this.d.rows<RollupRow>(flux`from(bucket: ${this.d.rollupBucket})
  |> range(start: ${fluxTime(from)}, stop: ${fluxTime(to)})
  |> filter(fn: (r) => ${fluxExpression(filters.map((f) => `(${f.toString()})`).join(' and '))})
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time", "device", "metric"])
  |> limit(n: ${fluxInteger(limit)})`);
    return rows.map(toPoint);
  }

  /** How far the fold went: every step before it is folded. Undefined before the first fold. */
  async foldedUntil(fresh = true): Promise<number | undefined> {
    if (!fresh && this.mark && Date.now() - this.mark.readAt < MARK_TTL_MS) return this.mark.value;
    const rows = await this.d.rows<{ _value: number }>(flux`from(bucket: ${this.d.rollupBucket})
  |> range(start: 0)
  |> filter(fn: (r) => r._measurement == ${this.meta} and r._field == "folded_until")
  |> last()`);
    const value = rows[0]?._value;
    this.mark = { value: typeof value === 'number' ? value : undefined, readAt: Date.now() };
    return this.mark.value;
  }

  private async setFoldedUntil(value: number): Promise<void> {
    // One point per day of the wall clock, rewritten as the fold goes on: recent enough for a
    // bucket retention, few enough to read the last one quickly.
    const day = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    await this.d.write([new Point(this.meta).intField('folded_until', value).timestamp(day)]);
    this.mark = { value, readAt: Date.now() };
  }

  /** The oldest time in a measurement at or after `from` and before `to`, if any (roll-up measurements are looked for in their bucket). */
  async firstTime(measurement: string, field: string, from = 0, to = MAX_FLUX_MS): Promise<number | undefined> {
    if (!(Math.max(0, from) < Math.min(MAX_FLUX_MS, to))) return undefined;
    const bucket = measurement === this.d.raw ? this.d.bucket : this.d.rollupBucket;
    const rows = await this.d.rows<{ _time: string }>(flux`from(bucket: ${bucket})
  |> range(start: ${fluxTime(from)}, stop: ${fluxTime(to)})
  |> filter(fn: (r) => r._measurement == ${measurement} and r._field == ${field} and r._time < ${fluxTime(to)})
  |> first()
  |> group()
  |> sort(columns: ["_time"])
  |> limit(n: 1)`);
    return rows[0] ? Date.parse(rows[0]._time) : undefined;
  }

  /**
   * Folds the next complete steps, whole hours at a time until about `maxReadings` readings, and
   * writes the hours that ended; empty stretches are skipped up to the next reading. Resolves
   * with the readings folded (at least 1 when it moved on), 0 when every step complete at `now`
   * (`lagMs` ago) is folded.
   */
  async foldStep(now: number, maxReadings: number): Promise<number> {
    const ready = stepStart(now - this.d.lagMs, '5m');
    let from = await this.foldedUntil();
    if (from === undefined) {
      const oldest = await this.firstTime(this.d.raw, 'value', 0, ready);
      if (oldest === undefined) return 0;
      from = stepStart(oldest, '1h');
    }
    if (from >= ready) return 0;
    const readings: Reading[] = [];
    let end = from;
    // Spans of whole 5-minute steps, longer while they are sparse, shorter while they overflow.
    let span = STEP_MS['1h'];
    while (end < ready && readings.length < maxReadings) {
      const next = Math.min(ready, Math.max(end + STEP_MS['5m'], stepStart(end + span, '5m')));
      const start = end;
      const room = Math.max(1, maxReadings - readings.length);
      const page = start < next ? await this.d.readings({ from: start, to: next, limit: room + 1 }) : [];
      if (page.length > room) {
        if (next - end > STEP_MS['5m']) {
          span = Math.max(STEP_MS['5m'], Math.floor((next - end) / 2));
          if (readings.length > 0) break;
          continue;
        }
        // One step holds more than the budget: it is folded whole all the same.
        page.length = 0;
        for await (const p of slices((f, t, n) => this.d.readings({ from: f, to: t, limit: n }), start, next)) page.push(...p);
      }
      readings.push(...page);
      end = next;
      if (page.length < room / 4) span = Math.min(MAX_SPAN_MS, span * 2);
    }
    await this.writeRollups('5m', rollUp(readings, '5m'));
    // Hours that ended: folded from these readings, or, for one begun by an earlier fold, from its stored steps.
    const firstHour = stepStart(from, '1h');
    if (firstHour < from && firstHour + STEP_MS['1h'] <= end) await this.refoldHour(firstHour);
    const whole = (ts: number): boolean => {
      const h = stepStart(ts, '1h');
      return h >= from && h + STEP_MS['1h'] <= end;
    };
    await this.writeRollups('1h', rollUp(readings.filter((r) => whole(r.ts)), '1h'));
    await this.setFoldedUntil(end);
    return Math.max(1, readings.length);
  }

  /** Folds the hour starting at `hour` from its 5-minute steps, for some devices and metrics or all. */
  private async refoldHour(hour: number, only?: Pick<SeriesQuery, 'deviceId' | 'metric'>): Promise<void> {
    const fives: RollupPoint[] = [];
    for await (const page of slices((f, t, n) => this.query('5m', { ...only, from: f, to: t }, n), hour, hour + STEP_MS['1h'])) fives.push(...page);
    await this.writeRollups('1h', coarsen(fives, '1h'));
  }

  /**
   * The readings of a batch whose steps are already folded, split by what can be done about
   * them: those within the raw retention fold their steps again from the readings; the older
   * ones (their steps' readings are partly pruned) are merged into the steps, each once: those
   * already stored (a redelivery) are left out. Undefined when none is late. Called before the
   * batch is written.
   */
  async lateReadings(readings: readonly Reading[]): Promise<{ refold: Reading[]; merge: Reading[] } | undefined> {
    const until = await this.foldedUntil(false);
    if (until === undefined) return undefined;
    const refold: Reading[] = [];
    const old: Reading[] = [];
    for (const r of readings) {
      if (r.ts >= until) continue;
      (r.ts >= r.receivedAt - this.d.rawRetentionMs ? refold : old).push(r);
    }
    const merge: Reading[] = [];
    for (const r of old) {
      const stored = await this.d.readings({ deviceId: r.deviceId, metric: r.metric, from: r.ts, to: r.ts + 1, limit: 1 });
      if (stored.length === 0 && !merge.some((m) => m.deviceId === r.deviceId && m.metric === r.metric && m.ts === r.ts)) merge.push(r);
    }
    return refold.length > 0 || merge.length > 0 ? { refold, merge } : undefined;
  }

  /** Folds late readings (see lateReadings), once they are written. */
  async foldLate(late: { refold: readonly Reading[]; merge: readonly Reading[] }): Promise<void> {
    const until = (await this.foldedUntil(false)) ?? 0;
    const steps = new Map<string, { deviceId: string; metric: string; start: number }>();
    for (const r of late.refold) {
      const start = stepStart(r.ts, '5m');
      steps.set(`${r.deviceId}\u0000${r.metric}\u0000${start}`, { deviceId: r.deviceId, metric: r.metric, start });
    }
    const hours = new Map<string, { deviceId: string; metric: string; start: number }>();
    for (const s of steps.values()) {
      const only = { deviceId: s.deviceId, metric: s.metric };
      const readings = await this.d.readings({ ...only, from: s.start, to: s.start + STEP_MS['5m'], limit: 1_000_000 });
      await this.writeRollups('5m', rollUp(readings, '5m'));
      const hour = stepStart(s.start, '1h');
      hours.set(`${s.deviceId}\u0000${s.metric}\u0000${hour}`, { ...only, start: hour });
    }
    for (const h of hours.values()) if (h.start + STEP_MS['1h'] <= until) await this.refoldHour(h.start, { deviceId: h.deviceId, metric: h.metric });
    for (const resolution of ['5m', '1h'] as const) {
      const added = rollUp(late.merge, resolution);
      const merged: RollupPoint[] = [];
      for (const p of added) {
        const [stored] = await this.query(resolution, { deviceId: p.deviceId, metric: p.metric, from: p.start, to: p.start + 1 }, 1);
        merged.push(stored ? combine(stored, p) : p);
      }
      await this.writeRollups(resolution, merged);
    }
  }

  private async writeRollups(resolution: RollupResolution, points: readonly RollupPoint[]): Promise<void> {
    if (points.length === 0) return;
    const f = ROLLUP_FIELDS;
    await this.d.write(
      points.map((p) => {
        const point = new Point(this.measurements[resolution]).tag('device', p.deviceId).tag('metric', p.metric);
        point.intField(f.count, p.count).floatField(f.min, p.min).floatField(f.max, p.max).floatField(f.sum, p.sum).floatField(f.last, p.last).intField(f.lastTs, p.lastTs);
        if (p.unit !== undefined) point.stringField(f.unit, p.unit);
        if (p.loc) point.floatField(f.lat, p.loc.lat).floatField(f.lon, p.loc.lon);
        return point.timestamp(p.start);
      }),
    );
  }
}

function toPoint(row: RollupRow): RollupPoint {
  const p: RollupPoint = {
    deviceId: row.device,
    metric: row.metric,
    start: Date.parse(row._time),
    count: row.count,
    min: row.min,
    max: row.max,
    sum: row.sum,
    last: row.last,
    lastTs: row.last_ts,
  };
  if (row.unit) p.unit = row.unit;
  if (typeof row.lat === 'number' && typeof row.lon === 'number') p.loc = { lat: row.lat, lon: row.lon };
  return p;
}
