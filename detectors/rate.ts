/**
 * The rate-of-change rule over event time: "water level rose more than 0.05 m within 10 min".
 * Pure: the engine loads and saves the state, this decides.
 *
 * - The rise is the newest value minus the lowest value among readings in the window
 *   [ts - within, ts]; the fall is the highest minus the newest. Lowest, not first: a level
 *   that dips and then climbs has risen by the climb.
 * - Fires when the rise exceeds `rise` (or the fall exceeds `fall`), strictly; resolves once
 *   the rise is at most `clearRise` (default `rise`) and the fall at most `clearFall`.
 * - A gap longer than the window empties it: the next reading starts from no change.
 * - Readings at or before the last evaluated timestamp do not move the state.
 *
 * Only the candidates for the window's minimum and maximum are kept (monotonic queues), so the
 * state stays small; past MAX_WINDOW_SAMPLES (a window of 10 min at more than one reading per
 * 2.5 s, rising the whole time) every second inner candidate is dropped, which can under-state
 * the change by at most the step between two kept samples.
 */
import type { RateRule } from '../core/rules.js';

export const MAX_WINDOW_SAMPLES = 256;

/** [event time, value] */
type Sample = [number, number];

export interface RateState {
  phase: 'ok' | 'firing';
  /** Event time the rule started firing. */
  since: number;
  lastTs: number;
  /** Candidates for the window's minimum: values increasing from the front. */
  lows: Sample[];
  /** Candidates for the window's maximum: values decreasing from the front. */
  highs: Sample[];
}

export type RateParams = Pick<RateRule, 'rise' | 'fall' | 'within' | 'clearRise' | 'clearFall'>;

export interface RateOutcome {
  state: RateState;
  transition: 'firing' | 'resolved' | undefined;
  /** The change over the window that decided: positive for a rise, negative for a fall. */
  change: number;
}

export function evaluateRate(rule: RateParams, prev: RateState | undefined, value: number, ts: number): RateOutcome {
  if (prev && ts <= prev.lastTs) return { state: prev, transition: undefined, change: 0 };
  const start = ts - rule.within;
  const lows = rule.rise === undefined ? [] : push(prune(prev?.lows, start), [ts, value], (back) => back >= value);
  const highs = rule.fall === undefined ? [] : push(prune(prev?.highs, start), [ts, value], (back) => back <= value);
  const rise = lows.length ? value - lows[0]![1] : 0;
  const fall = highs.length ? highs[0]![1] - value : 0;
  const breach = (rule.rise !== undefined && rise > rule.rise) || (rule.fall !== undefined && fall > rule.fall);
  const clear = (rule.rise === undefined || rise <= (rule.clearRise ?? rule.rise)) && (rule.fall === undefined || fall <= (rule.clearFall ?? rule.fall));
  const change = rule.fall !== undefined && fall > rise ? -fall : rise;

  const phase = prev?.phase ?? 'ok';
  if (phase === 'firing') {
    if (clear) return { state: { phase: 'ok', since: ts, lastTs: ts, lows, highs }, transition: 'resolved', change };
    return { state: { ...prev!, lastTs: ts, lows, highs }, transition: undefined, change };
  }
  if (breach) return { state: { phase: 'firing', since: ts, lastTs: ts, lows, highs }, transition: 'firing', change };
  return { state: { phase: 'ok', since: prev?.since ?? ts, lastTs: ts, lows, highs }, transition: undefined, change };
}

function prune(samples: readonly Sample[] | undefined, start: number): Sample[] {
  if (!samples) return [];
  let i = 0;
  while (i < samples.length && samples[i]![0] < start) i++;
  return samples.slice(i);
}

/** Appends a sample after dropping the ones it makes useless (`dominated(backValue)`). */
function push(samples: Sample[], sample: Sample, dominated: (back: number) => boolean): Sample[] {
  while (samples.length && dominated(samples[samples.length - 1]![1])) samples.pop();
  samples.push(sample);
  if (samples.length <= MAX_WINDOW_SAMPLES) return samples;
  // Keep the current extreme (front) and the newest (back); thin the rest.
  return samples.filter((_, i) => i === 0 || i === samples.length - 1 || i % 2 === 0);
}
