/**
 * The retention tasks of the stores every process may hold (core/retention/maintenance.ts runs
 * them): the time series folded and pruned per resolution, settled outbox messages pruned, and
 * people's reports and their photos past their expiry.
 */
import type { RetentionConfig } from '../config.js';
import type { Outbox, ReportStore, SeriesStore } from '../ports.js';
import type { RetentionTask } from './maintenance.js';
import type { SeriesRetention } from './rollup.js';

/** Folding readings into roll-ups first, then pruning each resolution past its retention. */
export function seriesTasks(series: SeriesStore, r: SeriesRetention): RetentionTask[] {
  return [
    { name: 'rollup', sized: true, begin: () => series.beginRollUp?.(), step: (now, rows) => series.rollUp(now, rows) },
    { name: 'prune-raw', sized: true, step: (now, rows) => series.prune('raw', now - r.rawMs, rows) },
    { name: 'prune-5m', sized: true, step: (now, rows) => series.prune('5m', now - r.fiveMinuteMs, rows) },
    { name: 'prune-1h', sized: true, step: (now, rows) => series.prune('1h', now - r.hourMs, rows) },
  ];
}

/** Delivered and given-up webhook messages past their window (pending ones stay). */
export function outboxTask(outbox: Outbox, r: RetentionConfig): RetentionTask {
  return { name: 'prune-outbox', sized: true, step: (now, rows) => outbox.pruneSettled(now - r.outboxMs, rows) };
}

/** Reports and photos one step deletes: a photo is up to 2 MiB, so a step frees some 10,000 pages at most. */
export const REPORT_PRUNE_STEP = 20;

/**
 * People's reports and their photos past their expiry (set when filed: STREETWATCH_REPORT_RETENTION,
 * STREETWATCH_PHOTO_RETENTION).
 */
export function reportsTask(reports: ReportStore): RetentionTask {
  return { name: 'prune-reports', step: (now) => reports.prune(now, REPORT_PRUNE_STEP) };
}
