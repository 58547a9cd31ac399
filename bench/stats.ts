/**
 * Latency samples and their percentiles: every sample is kept (8 bytes each) and sorted once,
 * so a percentile is exact rather than a bucket's edge. Ten minutes at 10 000 samples a second
 * is 48 MB, which a benchmark process can afford.
 */

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export class LatencyRecorder {
  private samples = new Float64Array(1 << 14);
  private n = 0;

  get count(): number {
    return this.n;
  }

  record(ms: number): void {
    if (this.n === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.n++] = ms;
  }

  reset(): void {
    this.n = 0;
  }

  summary(): LatencySummary {
    return summarize(this.samples.subarray(0, this.n));
  }
}

/** Nearest-rank percentiles over all samples (sorts a copy). */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, min: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  const at = (q: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return { count: n, min: sorted[0]!, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[n - 1]!, mean: sum / n };
}

/** Rise of the least-squares line through the points over their span, in percent of its value at the first. */
export function trendPercent(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const sxy = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  if (sxx === 0) return NaN;
  const slope = sxy / sxx;
  const x0 = points[0]![0];
  const x1 = points[n - 1]![0];
  const start = my + slope * (x0 - mx);
  return ((slope * (x1 - x0)) / start) * 100;
}

/** One value of a prom-client histogram, as `Histogram.get()` lists them. */
export interface HistogramValue {
  value: number;
  labels: Record<string, string | number | undefined>;
  metricName?: string;
}

/**
 * Latency samples ([when, ms]) grouped by window of `windowMs` from `start` (earlier ones fall in
 * the first): [minutes from start to the window, samples, p99, max] for each window that has any.
 */
export function percentilesByWindow(samples: readonly [number, number][], start: number, windowMs: number): [number, number, number, number][] {
  const by = new Map<number, number[]>();
  for (const [at, ms] of samples) {
    const w = Math.max(0, Math.floor((at - start) / windowMs));
    const window = by.get(w) ?? [];
    window.push(ms);
    by.set(w, window);
  }
  return [...by.entries()]
    .sort(([a], [b]) => a - b)
    .map(([w, ms]) => {
      const s = summarize(ms);
      return [+((w * windowMs) / 60_000).toFixed(2), s.count, s.p99, s.max];
    });
}

/**
 * A histogram's finite buckets per name, as plain numbers (they cross the benchmark's IPC as JSON):
 * [upper bound, observations at or under it] in ascending bounds, and the count of all.
 */
export type Buckets = Record<string, { bounds: [number, number][]; count: number }>;

/** The buckets of a histogram, by the name `name` gives each label set. */
export function bucketsOf(values: readonly HistogramValue[], name: (labels: HistogramValue['labels']) => string): Buckets {
  const out: Buckets = {};
  for (const v of values) {
    const b = (out[name(v.labels)] ??= { bounds: [], count: 0 });
    if (v.metricName?.endsWith('_count')) b.count = v.value;
    else if (v.metricName?.endsWith('_bucket') && v.labels.le !== '+Inf') b.bounds.push([Number(v.labels.le), v.value]);
  }
  for (const b of Object.values(out)) b.bounds.sort(([x], [y]) => x - y);
  return out;
}

/**
 * The upper bound of the bucket that holds quantile `q` of what was observed between two reads
 * of a histogram's buckets (`before` may lack a name: nothing observed then), by name; names with
 * nothing observed in between are left out. Infinity when it lies past the last finite bound.
 */
export function quantileBetween(before: Buckets, after: Buckets, q: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, b] of Object.entries(after)) {
    const earlier = before[name];
    const total = b.count - (earlier?.count ?? 0);
    if (total <= 0) continue;
    const at = new Map(earlier?.bounds ?? []);
    out[name] = b.bounds.find(([le, n]) => n - (at.get(le) ?? 0) >= q * total)?.[0] ?? Infinity;
  }
  return out;
}

/**
 * How many observations of each name were above `bound`, which must be one of the histogram's
 * bucket bounds; names with none above are left out.
 */
export function countAbove(buckets: Buckets, bound: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, b] of Object.entries(buckets)) {
    const within = b.bounds.find(([le]) => le === bound);
    if (!within) throw new Error(`${bound} is not a bucket bound of the histogram`);
    if (b.count > within[1]) out[name] = b.count - within[1];
  }
  return out;
}
