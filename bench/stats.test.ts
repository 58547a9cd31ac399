import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { bucketsOf, countAbove, LatencyRecorder, percentilesByWindow, quantileBetween, summarize, trendPercent } from './stats.js';

describe('latency percentiles', () => {
  it('are nearest-rank over every sample', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const s = summarize(values.reverse());
    expect(s).toMatchObject({ count: 1000, min: 1, p50: 500, p90: 900, p99: 990, p999: 999, max: 1000, mean: 500.5 });
  });

  it('keep samples past the first allocation', () => {
    const r = new LatencyRecorder();
    for (let i = 0; i < 100_000; i++) r.record(i % 100);
    expect(r.count).toBe(100_000);
    expect(r.summary()).toMatchObject({ min: 0, p50: 49, max: 99 });
    r.reset();
    expect(r.count).toBe(0);
  });

  it('say nothing about no samples', () => {
    expect(summarize([]).count).toBe(0);
    expect(summarize([]).p99).toBeNaN();
  });
});

describe('soak RSS trend', () => {
  it('sees through a sawtooth to the line under it', () => {
    // A 0-100 MiB sawtooth (70 s period) over a flat 500 MiB, sampled every 5 s for an hour: the
    // line under it sits at about 550 MiB.
    const flat = Array.from({ length: 720 }, (_, i): [number, number] => [i * 5, 500 + ((i * 5) % 70) * (100 / 70)]);
    expect(Math.abs(trendPercent(flat))).toBeLessThan(0.5);
    // The same, rising by 55 MiB over the hour: about 10% of where the line starts.
    const rising = flat.map(([t, v]): [number, number] => [t, v + (55 * t) / 3595]);
    expect(trendPercent(rising)).toBeGreaterThan(9.5);
    expect(trendPercent(rising)).toBeLessThan(10.5);
  });
});

describe('observations above a bucket bound', () => {
  it('are counted per name from a histogram, leaving out names with none above', async () => {
    const h = new Histogram({ name: 'steps_seconds', help: 'steps', labelNames: ['task'], buckets: [0.01, 0.05, 0.1], registers: [new Registry()] });
    for (const s of [0.001, 0.05, 0.07, 0.2]) h.observe({ task: 'rollup' }, s);
    h.observe({ task: 'prune' }, 0.02);
    const buckets = bucketsOf((await h.get()).values, (l) => `retention ${String(l.task)}`);
    expect(countAbove(buckets, 0.05)).toEqual({ 'retention rollup': 2 });
    expect(() => countAbove(buckets, 0.06)).toThrow('0.06 is not a bucket bound');
  });
});

describe('latencies by window', () => {
  it('group samples by the window they were taken in, earlier ones in the first, empty windows left out', () => {
    const start = 1_000_000;
    const samples: [number, number][] = [
      [start - 10, 7],
      [start + 1_000, 5],
      [start + 59_999, 9],
      [start + 180_000, 120],
      [start + 190_000, 30],
    ];
    expect(percentilesByWindow(samples, start, 60_000)).toEqual([
      [0, 3, 9, 9],
      [3, 2, 120, 120],
    ]);
  });
});

describe('a quantile between two reads of a histogram', () => {
  it('is the upper bound of the bucket holding it among what was observed in between, by name', async () => {
    const h = new Histogram({ name: 'lag_seconds', help: 'lag', labelNames: ['stage'], buckets: [0.01, 0.05, 0.1], registers: [new Registry()] });
    // Before the window: slow ingest and nothing of the detectors.
    for (let i = 0; i < 50; i++) h.observe({ stage: 'ingest' }, 0.09);
    h.observe({ stage: 'alerting' }, 0.005);
    const before = bucketsOf((await h.get()).values, (l) => String(l.stage));
    for (let i = 0; i < 99; i++) h.observe({ stage: 'ingest' }, 0.004);
    h.observe({ stage: 'ingest' }, 0.07);
    for (let i = 0; i < 98; i++) h.observe({ stage: 'detectors' }, 0.02);
    for (let i = 0; i < 2; i++) h.observe({ stage: 'detectors' }, 3);
    const after = JSON.parse(JSON.stringify(bucketsOf((await h.get()).values, (l) => String(l.stage)))) as typeof before;
    expect(quantileBetween(before, after, 0.99)).toEqual({ ingest: 0.01, detectors: Infinity });
    expect(quantileBetween(before, after, 0.5)).toEqual({ ingest: 0.01, detectors: 0.05 });
  });
});
