import { describe, expect, it } from 'vitest';
import { LogWatch } from './log-watch.js';
import type { SutStats } from './sut.js';

/** The platform's counters as bench/sut.ts reports them, with what a test varies. */
function stats(refused: number, longIngest: number, lagWithin10ms: number, lagCount: number, loopDelayMaxMs = 0, majorGcs = 0): SutStats {
  return {
    readingsStored: 0,
    alerts: 0,
    tickets: 0,
    delivered: 0,
    rejected: 0,
    connections: 0,
    refusedPublishes: refused,
    backlog: { 'sw.raw': 0 },
    longSteps: { 'ingest on sw.raw': longIngest, ...(majorGcs > 0 ? { 'gc major': majorGcs } : {}) },
    stageLag: { ingest: { bounds: [[0.01, lagWithin10ms], [1, lagCount]], count: lagCount } },
    loopDelayMaxMs,
    rss: 0,
    heapUsed: 0,
  };
}

describe('the log watch', () => {
  it('reports long steps and stage lags from where the measured window starts, refusals from the first sample', async () => {
    const samples = [
      // The warm-up: slow, long batches, a refusal.
      stats(0, 0, 0, 0),
      stats(1, 5, 0, 100),
      // The measured window: fast, one long batch more.
      stats(1, 5, 0, 100),
      stats(1, 6, 1_000, 1_100),
    ];
    const watch = new LogWatch(async () => samples.shift()!);
    await watch.sample();
    await watch.sample();
    await watch.measureFromHere();
    await watch.sample();
    expect(watch.result()).toMatchObject({ refusedPublishes: 1, longSteps: { 'ingest on sw.raw': 1 }, stageLagP99Ms: { ingest: 10 } });
  });

  it('counts everything from the first sample unless told where the window starts', async () => {
    const samples = [stats(0, 0, 0, 0), stats(1, 5, 0, 100), stats(1, 6, 1_000, 1_100)];
    const watch = new LogWatch(async () => samples.shift()!);
    for (let i = 0; i < 3; i++) await watch.sample();
    // 100 of 1,100 over 10 ms: the p99 is in the last bucket.
    expect(watch.result()).toMatchObject({ refusedPublishes: 1, longSteps: { 'ingest on sw.raw': 6 }, stageLagP99Ms: { ingest: 1000 } });
  });

  it('keeps each period that held the event loop 100 ms or more with the long steps that grew in it, longest first', async () => {
    const samples = [
      // The platform's start: its delay is before the window.
      stats(0, 0, 0, 0, 2_000),
      stats(0, 0, 0, 0, 30),
      // A collector pause of its own.
      stats(0, 0, 0, 0, 970, 1),
      // Two long batches.
      stats(0, 2, 0, 0, 120, 1),
      // Held, with nothing long to show for it.
      stats(0, 2, 0, 0, 260, 1),
    ];
    const watch = new LogWatch(async () => samples.shift()!);
    for (let i = 0; i < 5; i++) await watch.sample();
    const r = watch.result();
    expect(r).toMatchObject({ loopDelayMaxMs: 970, stallCount: 3, longSteps: { 'ingest on sw.raw': 2, 'gc major': 1 } });
    expect(r.stalls!.map((s) => [s.loopDelayMs, s.steps])).toEqual([
      [970, { 'gc major': 1 }],
      [260, {}],
      [120, { 'ingest on sw.raw': 2 }],
    ]);
  });

  it('keeps the longest stalls when there are more than it keeps, and counts from where the measured window starts', async () => {
    const delays = Array.from({ length: 30 }, (_, i) => 100 + i * 10);
    const samples = [stats(0, 0, 0, 0), stats(0, 0, 0, 0, 5_000), ...delays.map((d) => stats(0, 0, 0, 0, d))];
    const watch = new LogWatch(async () => samples.shift()!);
    await watch.sample();
    await watch.measureFromHere();
    for (let i = 0; i < delays.length; i++) await watch.sample();
    const r = watch.result();
    expect(r.stallCount).toBe(30);
    expect(r.loopDelayMaxMs).toBe(390);
    expect(r.stalls!.map((s) => s.loopDelayMs)).toEqual(delays.slice(10).reverse());
  });
});
