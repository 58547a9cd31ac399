/**
 * The composite rule's decisions against those of its first version, which kept every device
 * of the zone in its state (copied below as the reference), over seeded random streams with
 * devices on skewed clocks, duplicates, late readings and readings older than the window.
 * Readings out of order that the state may not recognise (composite.ts, the two corners) are
 * generated quiet, so the decisions must match reading by reading.
 */
import { describe, expect, it } from 'vitest';
import type { CompositeRule } from '../core/rules.js';
import { COMPOSITE_STANDINGS_MARGIN, evaluateComposite, type CompositeParams, type CompositeState } from './composite.js';
import { isBreach, isClear } from './threshold.js';
import { seededRandom } from '../core/seeded-random.js';

type Standing = [string, number, 0 | 1];
interface ReferenceState {
  phase: 'ok' | 'firing';
  since: number;
  now: number;
  standings: Standing[][];
}
interface Reading {
  deviceId: string;
  metric: string;
  value: number;
  ts: number;
}

function reference(rule: CompositeParams, prev: ReferenceState | undefined, reading: Reading): { state: ReferenceState; transition: 'firing' | 'resolved' | undefined } {
  const base: ReferenceState = prev ?? { phase: 'ok', since: reading.ts, now: reading.ts, standings: rule.conditions.map(() => []) };
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
  const state: ReferenceState = { phase: base.phase, since: base.since, now, standings: inWindow };
  if (base.phase === 'ok' && met) return { state: { ...state, phase: 'firing', since: reading.ts }, transition: 'firing' };
  if (base.phase === 'firing' && !met) return { state: { ...state, phase: 'ok' }, transition: 'resolved' };
  return { state, transition: undefined };
}

const MIN = 60_000;

const cond = (c: Partial<CompositeRule['conditions'][number]> & { metric: string }): CompositeRule['conditions'][number] => ({ devices: 1, ...c });

/** Each metric's range: the values drawn span the thresholds and the hysteresis bands. */
const RANGE: Record<string, [number, number]> = { smoke: [0, 16], temperature: [30, 70], water_level: [0, 0.5], battery: [0, 40] };

const RULES: [string, CompositeParams][] = [
  ['fire: all, hysteresis', { match: 'all', within: 2 * MIN, conditions: [cond({ metric: 'smoke', above: 10, clearBelow: 5 }), cond({ metric: 'temperature', above: 57, clearBelow: 45 })] }],
  ['three water sensors', { match: 'all', within: 5 * MIN, conditions: [cond({ metric: 'water_level', above: 0.3, clearBelow: 0.2, devices: 3 })] }],
  ['any, below and above', { match: 'any', within: 3 * MIN, conditions: [cond({ metric: 'battery', below: 10, clearAbove: 20, devices: 2 }), cond({ metric: 'smoke', above: 12, devices: 2 })] }],
  ['two bounds on one metric', { match: 'all', within: 1 * MIN, conditions: [cond({ metric: 'temperature', above: 50, devices: 2 }), cond({ metric: 'temperature', above: 60, clearBelow: 55 })] }],
];

/** Quiet for every condition on its metric, whatever the device's standing: at or past each clearing bound. */
function quietValue(rule: CompositeParams, metric: string, rand: () => number): number | undefined {
  let lo = RANGE[metric]![0];
  let hi = RANGE[metric]![1];
  for (const c of rule.conditions) {
    if (c.metric !== metric) continue;
    if (c.above !== undefined) hi = Math.min(hi, c.clearBelow ?? c.above);
    if (c.below !== undefined) lo = Math.max(lo, c.clearAbove ?? c.below);
  }
  return lo <= hi ? lo + rand() * (hi - lo) : undefined;
}

function stream(rule: CompositeParams, seed: number, n: number): Reading[] {
  const rand = seededRandom(seed);
  const metrics = [...new Set(rule.conditions.map((c) => c.metric))];
  const devices = Array.from({ length: 12 }, (_, i) => ({
    id: `d${i}`,
    metric: metrics[i % metrics.length]!,
    // Clocks up to three minutes apart: some devices' readings fall behind the zone's window.
    ts: Math.round((rand() - 0.5) * 6 * MIN),
    sent: [] as Reading[],
  }));
  const out: Reading[] = [];
  let zoneNow = -Infinity;
  const emit = (r: Reading): void => {
    out.push(r);
    zoneNow = Math.max(zoneNow, r.ts);
  };
  while (out.length < n) {
    const d = devices[Math.floor(rand() * devices.length)]!;
    const p = rand();
    const [lo, hi] = RANGE[d.metric]!;
    if (p < 0.1 && d.sent.length > 0) {
      // A redelivered copy of one of its readings.
      emit({ ...d.sent[Math.floor(rand() * d.sent.length)]! });
    } else if (p < 0.18 && d.sent.length > 1) {
      // Late, never sent before: older than its newest, quiet.
      const value = quietValue(rule, d.metric, rand);
      const ts = d.ts - 1 - Math.floor(rand() * 60_000);
      if (value !== undefined && !d.sent.some((r) => r.ts === ts)) emit({ deviceId: d.id, metric: d.metric, value, ts });
    } else if (p < 0.22 && Number.isFinite(zoneNow)) {
      // Late by more than the window, any value.
      emit({ deviceId: d.id, metric: d.metric, value: lo + rand() * (hi - lo), ts: zoneNow - rule.within - 1 - Math.floor(rand() * MIN) });
    } else {
      d.ts += 1 + Math.floor(rand() * 40_000);
      // Runs of high values, so that conditions hold now and then.
      const value = rand() < 0.5 ? lo + rand() * (hi - lo) : (d.sent.at(-1)?.value ?? lo);
      const r = { deviceId: d.id, metric: d.metric, value, ts: d.ts };
      d.sent.push(r);
      emit(r);
    }
  }
  return out;
}

describe('composite rule against its first version', () => {
  for (const [name, rule] of RULES) {
    it(`decides alike reading by reading: ${name}`, () => {
      let transitions = 0;
      for (let seed = 1; seed <= 25; seed++) {
        let ref: ReferenceState | undefined;
        let cur: CompositeState | undefined;
        const decisions: [string, string][] = [];
        for (const r of stream(rule, seed, 1_500)) {
          const a = reference(rule, ref, r);
          const b = evaluateComposite(rule, cur, r);
          ref = a.state;
          cur = b.state;
          decisions.push([`${a.transition ?? a.state.phase}@${a.state.since}`, `${b.transition ?? b.state.phase}@${b.state.since}`]);
          if (a.transition) transitions++;
          for (const [i, list] of cur.standings.entries()) expect(list.length).toBeLessThanOrEqual(rule.conditions[i]!.devices + COMPOSITE_STANDINGS_MARGIN);
        }
        expect(decisions.map((d) => d[1]), `seed ${seed}`).toEqual(decisions.map((d) => d[0]));
      }
      // The streams exercise the rule: it fires and resolves many times.
      expect(transitions).toBeGreaterThan(50);
    });
  }
});
