import { describe, expect, it } from 'vitest';
import type { CompositeRule } from '../core/rules.js';
import { evaluateComposite, type CompositeParams, type CompositeState } from './composite.js';

const MIN = 60_000;
type R = [deviceId: string, metric: string, value: number, ts: number];

function run(rule: CompositeParams, readings: R[]): string[] {
  let state: CompositeState | undefined;
  return readings.map(([deviceId, metric, value, ts]) => {
    const r = evaluateComposite(rule, state, { deviceId, metric, value, ts });
    state = r.state;
    return r.transition ?? state.phase;
  });
}

const cond = (c: Partial<CompositeRule['conditions'][number]> & { metric: string }): CompositeRule['conditions'][number] => ({ devices: 1, ...c });

describe('composite rule', () => {
  const fire: CompositeParams = { match: 'all', within: 2 * MIN, conditions: [cond({ metric: 'smoke', above: 10 }), cond({ metric: 'temperature', above: 57 })] };

  it('fires when every condition holds within the window, across devices of the zone', () => {
    expect(run(fire, [['smoke-1', 'smoke', 12, 0], ['temp-1', 'temperature', 60, MIN]])).toEqual(['ok', 'firing']);
  });

  it('does not fire when the conditions are further apart than the window', () => {
    expect(run(fire, [['smoke-1', 'smoke', 12, 0], ['temp-1', 'temperature', 60, 2 * MIN + 1]])).toEqual(['ok', 'ok']);
    // Exactly `within` apart still counts.
    expect(run(fire, [['smoke-1', 'smoke', 12, 0], ['temp-1', 'temperature', 60, 2 * MIN]])).toEqual(['ok', 'firing']);
  });

  it('takes each device at its newest reading: one back to normal withdraws it', () => {
    expect(run(fire, [['smoke-1', 'smoke', 12, 0], ['smoke-1', 'smoke', 3, 10_000], ['temp-1', 'temperature', 60, 20_000]])).toEqual(['ok', 'ok', 'ok']);
    expect(run(fire, [['smoke-1', 'smoke', 12, 0], ['temp-1', 'temperature', 60, 10_000], ['smoke-1', 'smoke', 3, 20_000]])).toEqual(['ok', 'firing', 'resolved']);
  });

  it('needs `devices` distinct devices for a condition; a duplicate or late reading does not add one', () => {
    const flood: CompositeParams = { match: 'all', within: 5 * MIN, conditions: [cond({ metric: 'water_level', above: 0.3, devices: 3 })] };
    expect(run(flood, [['w1', 'water_level', 0.4, 0], ['w1', 'water_level', 0.5, 1], ['w2', 'water_level', 0.4, 2], ['w3', 'water_level', 0.4, 3]])).toEqual(['ok', 'ok', 'ok', 'firing']);
    expect(run(flood, [['w1', 'water_level', 0.4, 10], ['w1', 'water_level', 0.4, 10], ['w2', 'water_level', 0.4, 11], ['w2', 'water_level', 0.4, 5]])).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('ignores a reading older than the window behind the zone', () => {
    const s: string[] = run(fire, [['temp-1', 'temperature', 60, 10 * MIN], ['smoke-1', 'smoke', 20, 7 * MIN]]);
    expect(s).toEqual(['ok', 'ok']);
  });

  it('fires on any condition with match: any', () => {
    const any: CompositeParams = { ...fire, match: 'any' };
    expect(run(any, [['temp-1', 'temperature', 60, 0], ['temp-1', 'temperature', 20, 1]])).toEqual(['firing', 'resolved']);
  });

  it('applies each condition’s hysteresis per device', () => {
    const rule: CompositeParams = { match: 'all', within: 5 * MIN, conditions: [cond({ metric: 'smoke', above: 10, clearBelow: 5 })] };
    expect(run(rule, [['s', 'smoke', 11, 0], ['s', 'smoke', 8, 1], ['s', 'smoke', 5, 2]])).toEqual(['firing', 'firing', 'resolved']);
  });
});
