/**
 * The threshold rule as a state machine over event time. Pure: the engine loads and saves the
 * state, this decides.
 *
 * - Breach: `value > above` or `value < below` (strict: exactly at the threshold is normal).
 * - Back to normal while firing: `value <= clearBelow` (default `above`) and
 *   `value >= clearAbove` (default `below`): the band between is the hysteresis.
 * - `for`: the breach must hold, by the devices' timestamps, at least this long before firing;
 *   `consecutive`: and at least this many readings in a row must breach. A normal reading
 *   while pending cancels both. Between two readings the last value is taken to hold, so a gap
 *   in the data neither cancels nor proves a breach.
 * - Readings at or before the last evaluated timestamp (duplicates, late arrivals) do not move
 *   the state.
 */
import type { ThresholdBounds } from '../core/rules.js';

export type ThresholdPhase = 'ok' | 'pending' | 'firing';

export interface ThresholdState {
  phase: ThresholdPhase;
  /** Event time the breach began (pending or firing). */
  since: number;
  /** Event time of the last reading evaluated. */
  lastTs: number;
  /** Breaching readings in a row while pending (absent in state saved before it existed: 1). */
  count?: number;
}

export interface ThresholdOutcome {
  state: ThresholdState;
  transition: 'firing' | 'resolved' | undefined;
}

export interface ThresholdParams extends ThresholdBounds {
  for: number;
  consecutive?: number;
}

export function isBreach(rule: ThresholdBounds, value: number): boolean {
  return (rule.above !== undefined && value > rule.above) || (rule.below !== undefined && value < rule.below);
}

export function isClear(rule: ThresholdBounds, value: number): boolean {
  const upper = rule.clearBelow ?? rule.above;
  const lower = rule.clearAbove ?? rule.below;
  return (upper === undefined || value <= upper) && (lower === undefined || value >= lower);
}

export function evaluateThreshold(rule: ThresholdParams, prev: ThresholdState | undefined, value: number, ts: number): ThresholdOutcome {
  if (prev && ts <= prev.lastTs) return { state: prev, transition: undefined };
  const phase = prev?.phase ?? 'ok';

  if (phase === 'firing') {
    if (isClear(rule, value)) return { state: { phase: 'ok', since: ts, lastTs: ts }, transition: 'resolved' };
    return { state: { ...prev!, lastTs: ts }, transition: undefined };
  }

  if (!isBreach(rule, value)) return { state: { phase: 'ok', since: ts, lastTs: ts }, transition: undefined };

  const since = phase === 'pending' ? prev!.since : ts;
  const count = phase === 'pending' ? (prev!.count ?? 1) + 1 : 1;
  if (ts - since >= rule.for && count >= (rule.consecutive ?? 1)) return { state: { phase: 'firing', since, lastTs: ts }, transition: 'firing' };
  return { state: { phase: 'pending', since, lastTs: ts, count }, transition: undefined };
}

/** The bound a value crossed, for messages and charts. */
export function crossedBound(rule: ThresholdBounds, value: number): number | undefined {
  if (rule.above !== undefined && value > rule.above) return rule.above;
  if (rule.below !== undefined && value < rule.below) return rule.below;
  return rule.above ?? rule.below;
}
