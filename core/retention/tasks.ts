/**
 * The retention tasks of the stores every process may hold (core/retention/maintenance.ts runs
 * them): the time series folded and pruned per resolution, and settled outbox messages pruned.
 */
import type { RetentionConfig } from '../config.js';
import type { Outbox, SeriesStore } from '../ports.js';
import type { RetentionTask } from './maintenance.js';

/** Folding readings into roll-ups first, then pruning each resolution past its retention. */
export function seriesTasks(series: SeriesStore, r: RetentionConfig): RetentionTask[] {
  return [
    { name: 'rollup', step: (now) => series.rollUp(now, r.batch) },
    { name: 'prune-raw', step: (now) => series.prune('raw', now - r.rawMs, r.batch) },
    { name: 'prune-5m', step: (now) => series.prune('5m', now - r.fiveMinuteMs, r.batch) },
    { name: 'prune-1h', step: (now) => series.prune('1h', now - r.hourMs, r.batch) },
  ];
}

/** Delivered and given-up webhook messages past their window (pending ones stay). */
export function outboxTask(outbox: Outbox, r: RetentionConfig): RetentionTask {
  return { name: 'prune-outbox', step: (now) => outbox.pruneSettled(now - r.outboxMs, r.batch) };
}
