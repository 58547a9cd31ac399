/**
 * The composite rule: conditions over several devices of one zone, within a time window
 * (smoke and heat in the same building → fire; three water sensors high in one tunnel). Pure:
 * the engine loads and saves the state (one per rule and zone), this decides.
 *
 * - Each device's standing on each condition is that of its newest reading of the condition's
 *   metric, with the condition's own hysteresis (`above`/`clearBelow`, `below`/`clearAbove`).
 * - A condition holds when at least `devices` distinct devices breach it with a reading no
 *   older than `within` behind the zone's newest reading (the zone's event time).
 * - The rule fires when all (or any) conditions hold, and resolves when they no longer do.
 * - A reading at or before the device's previous one for that condition (duplicate, late), or
 *   older than the window, does not count.
 *
 * Evaluation happens when a reading arrives in the zone: a zone that falls silent keeps its
 * last verdict (the deadman rule is what notices silence).
 */
import type { CompositeRule } from '../core/rules.js';
import { isBreach, isClear } from './threshold.js';

/** [deviceId, event time, breaching (1) or not (0)] */
type Standing = [string, number, 0 | 1];

export interface CompositeState {
  phase: 'ok' | 'firing';
  since: number;
  /** The zone's event time: the newest reading counted. */
  now: number;
  /** Per condition, each device's newest standing inside the window. */
  standings: Standing[][];
}

export type CompositeParams = Pick<CompositeRule, 'match' | 'conditions' | 'within'>;

export interface CompositeOutcome {
  state: CompositeState;
  transition: 'firing' | 'resolved' | undefined;
}

export function evaluateComposite(
  rule: CompositeParams,
  prev: CompositeState | undefined,
  reading: { deviceId: string; metric: string; value: number; ts: number },
): CompositeOutcome {
  const base: CompositeState = prev ?? { phase: 'ok', since: reading.ts, now: reading.ts, standings: rule.conditions.map(() => []) };
  if (reading.ts < base.now - rule.within) return { state: base, transition: undefined };
  let counted = false;
  const standings = rule.conditions.map((c, i) => {
    const list = base.standings[i] ?? [];
    if (c.metric !== reading.metric) return list;
    const j = list.findIndex((s) => s[0] === reading.deviceId);
    const before = list[j];
    if (before && reading.ts <= before[1]) return list;
    const breaching = before?.[2] === 1 ? !isClear(c, reading.value) : isBreach(c, reading.value);
    counted = true;
    const next: Standing = [reading.deviceId, reading.ts, breaching ? 1 : 0];
    return j < 0 ? [...list, next] : list.map((s, k) => (k === j ? next : s));
  });
  if (!counted) return { state: base, transition: undefined };

  const now = Math.max(base.now, reading.ts);
  const from = now - rule.within;
  const inWindow = standings.map((list) => list.filter((s) => s[1] >= from));
  const holds = rule.conditions.map((c, i) => inWindow[i]!.filter((s) => s[2] === 1).length >= c.devices);
  const met = rule.match === 'all' ? holds.every(Boolean) : holds.some(Boolean);
  const state: CompositeState = { phase: base.phase, since: base.since, now, standings: inWindow };

  if (base.phase === 'ok' && met) return { state: { ...state, phase: 'firing', since: reading.ts }, transition: 'firing' };
  if (base.phase === 'firing' && !met) return { state: { ...state, phase: 'ok' }, transition: 'resolved' };
  return { state, transition: undefined };
}
