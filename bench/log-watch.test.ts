import { describe, expect, it } from 'vitest';
import { LogWatch } from './log-watch.js';
import type { SutStats } from './sut.js';

/** The platform's counters as bench/sut.ts reports them, with what a test varies. */
function stats(refused: number, longIngest: number, lagWithin10ms: number, lagCount: number): SutStats {
  return {
    readingsStored: 0,
    alerts: 0,
    tickets: 0,
    delivered: 0,
    rejected: 0,
    connections: 0,
    refusedPublishes: refused,
    backlog: { 'sw.raw': 0 },
    longSteps: { 'ingest on sw.raw': longIngest },
    stageLag: { ingest: { bounds: [[0.01, lagWithin10ms], [1, lagCount]], count: lagCount } },
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
});
