import { describe, expect, it } from 'vitest';
import { evaluateThreshold, type ThresholdBounds, type ThresholdState } from './threshold.js';

function run(rule: ThresholdBounds, points: [ts: number, value: number][]): string[] {
  let state: ThresholdState | undefined;
  const out: string[] = [];
  for (const [ts, v] of points) {
    const r = evaluateThreshold(rule, state, v, ts);
    state = r.state;
    out.push(r.transition ?? state.phase);
  }
  return out;
}

describe('threshold rule', () => {
  const above = { above: 0.3, for: 0 };

  it('fires strictly above the threshold and clears at or below it', () => {
    expect(run(above, [[1, 0.3], [2, 0.31], [3, 0.5], [4, 0.3], [5, 0.31]])).toEqual(['ok', 'firing', 'firing', 'resolved', 'firing']);
  });

  it('fires strictly below a lower bound', () => {
    expect(run({ below: 3.3, for: 0 }, [[1, 3.3], [2, 3.2], [3, 3.4]])).toEqual(['ok', 'firing', 'resolved']);
  });

  it('fires outside a range on either side', () => {
    expect(run({ above: 30, below: 10, for: 0 }, [[1, 20], [2, 31], [3, 20], [4, 9], [5, 10]])).toEqual(['ok', 'firing', 'resolved', 'firing', 'resolved']);
  });

  it('holds through the hysteresis band: no chatter around the threshold', () => {
    const rule = { above: 0.3, clearBelow: 0.2, for: 0 };
    expect(run(rule, [[1, 0.31], [2, 0.29], [3, 0.31], [4, 0.25], [5, 0.2], [6, 0.29]])).toEqual(['firing', 'firing', 'firing', 'firing', 'resolved', 'ok']);
  });

  it('waits for the breach to hold "for" the duration, by event time', () => {
    const rule = { above: 0.3, for: 60_000 };
    expect(run(rule, [[0, 0.5], [30_000, 0.5], [59_999, 0.6], [60_000, 0.6], [90_000, 0.7]])).toEqual(['pending', 'pending', 'pending', 'firing', 'firing']);
  });

  it('cancels a pending breach on a normal reading and starts the clock again', () => {
    const rule = { above: 0.3, for: 60_000 };
    expect(run(rule, [[0, 0.5], [50_000, 0.1], [70_000, 0.5], [120_000, 0.5], [130_000, 0.5]])).toEqual(['pending', 'ok', 'pending', 'pending', 'firing']);
  });

  it('ignores duplicate and late readings', () => {
    const rule = { above: 0.3, for: 0 };
    let s = evaluateThreshold(rule, undefined, 0.5, 100).state;
    expect(s.phase).toBe('firing');
    const dup = evaluateThreshold(rule, s, 0.1, 100);
    expect(dup).toEqual({ state: s, transition: undefined });
    const late = evaluateThreshold(rule, s, 0.1, 50);
    expect(late).toEqual({ state: s, transition: undefined });
    s = evaluateThreshold(rule, s, 0.1, 101).state;
    expect(s.phase).toBe('ok');
  });

  it('reports when the breach began', () => {
    const rule = { above: 0.3, for: 10 };
    const first = evaluateThreshold(rule, undefined, 0.5, 100).state;
    const fired = evaluateThreshold(rule, first, 0.5, 110);
    expect(fired).toEqual({ state: { phase: 'firing', since: 100, lastTs: 110 }, transition: 'firing' });
  });
});
