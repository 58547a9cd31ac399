import { setImmediate as turn } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Metrics, observePublishLag } from './metrics.js';

describe('observePublishLag', () => {
  it('observes each publish once, however many readings it brought, at its own lag', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const lag = metrics.stageLag.labels({ stage: 'ingest' });
    const now = 10_000;
    // Three readings of one publish, one of another, then the first publish's ref again later (a new run).
    observePublishLag(lag, now, [
      { ref: 'a', receivedAt: 9_990 },
      { ref: 'a', receivedAt: 9_990 },
      { ref: 'a', receivedAt: 9_990 },
      { ref: 'b', receivedAt: 9_000 },
      { ref: 'a', receivedAt: 9_990 },
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^streetwatch_stage_lag_seconds_count\{stage="ingest"\} 3$/m);
    expect(text).toMatch(/^streetwatch_stage_lag_seconds_sum\{stage="ingest"\} 1\.02$/m);
    expect(text).toMatch(/^streetwatch_stage_lag_seconds_bucket\{le="0\.01",stage="ingest"\} 2$/m);
  });
});

describe('the default metrics', () => {
  it("time the collector's pauses in the buckets of the batches and retention steps", async () => {
    const metrics = new Metrics();
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
    // The collector's entries reach their observer on a later turn.
    for (let i = 0; i < 10 && !/nodejs_gc_duration_seconds_count\{kind="major"\}/.test(await metrics.registry.metrics()); i++) await turn();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^streetwatch_nodejs_gc_duration_seconds_bucket\{le="0\.05",kind="major"\} \d+$/m);
    expect(text).toMatch(/^streetwatch_nodejs_gc_duration_seconds_bucket\{le="0\.0025",kind="major"\} \d+$/m);
  });
});
