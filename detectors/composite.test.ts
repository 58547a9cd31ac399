import { describe, expect, it } from 'vitest';
import type { CompositeRule } from '../core/rules.js';
import { COMPOSITE_STANDINGS_MARGIN, evaluateComposite, type CompositeParams, type CompositeState } from './composite.js';

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

  describe('state that does not grow with the zone', () => {
    const flood: CompositeParams = { match: 'all', within: 5 * MIN, conditions: [cond({ metric: 'water_level', above: 0.3, clearBelow: 0.2, devices: 3 })] };
    const max = 3 + COMPOSITE_STANDINGS_MARGIN;
    const feed = (rule: CompositeParams, state: CompositeState | undefined, readings: R[]) => {
      const transitions: string[] = [];
      for (const [deviceId, metric, value, ts] of readings) {
        const r = evaluateComposite(rule, state, { deviceId, metric, value, ts });
        state = r.state;
        if (r.transition) transitions.push(r.transition);
      }
      return { state: state!, transitions };
    };
    const zone = (n: number, value: number, ts: number): R[] => Array.from({ length: n }, (_, i) => [`w${i}`, 'water_level', value, ts + (i % 1_000)]);

    it('keeps no standing for a quiet device, and returns the same state for a reading that changes nothing', () => {
      const { state } = feed(flood, undefined, zone(10_000, 0.1, 1_000));
      expect(state.standings).toEqual([[]]);
      expect(state.now).toBe(1_999);
      // Quiet at or before the zone's time, a duplicate, a device of another metric: nothing to write.
      for (const r of [['w5', 'water_level', 0.1, 1_500], ['w5', 'water_level', 0.1, 1_005], ['x', 'smoke', 50, 3_000]] as R[]) {
        expect(evaluateComposite(flood, state, { deviceId: r[0], metric: r[1], value: r[2], ts: r[3] }).state).toBe(state);
      }
    });

    it('holds at most `devices` + the margin per condition with 10,000 devices breaching in a zone, and still decides', () => {
      const high = feed(flood, undefined, zone(10_000, 0.4, 1_000));
      expect(high.transitions).toEqual(['firing']);
      expect(high.state.standings[0]).toHaveLength(max);
      expect(high.state.standings[0]!.every((s) => s[2] === 1)).toBe(true);
      // Every device back to normal: the rule resolves once, and the cleared ones are all that stays.
      const low = feed(flood, high.state, zone(10_000, 0.1, 2_000));
      expect(low.transitions).toEqual(['resolved']);
      expect(low.state.standings[0]!.length).toBeLessThanOrEqual(max);
      expect(low.state.standings[0]!.every((s) => s[2] === 0)).toBe(true);
      // A new flood takes the cleared places, oldest first.
      const again = feed(flood, low.state, zone(5, 0.4, 3_000));
      expect(again.transitions).toEqual(['firing']);
      expect(again.state.standings[0]).toHaveLength(max);
      expect(again.state.standings[0]!.filter((s) => s[2] === 1).map((s) => s[0])).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    });

    it('keeps the condition while the devices remembered clear, through those not remembered that still breach', () => {
      const high = feed(flood, undefined, zone(1_000, 0.4, 1_000));
      const remembered = high.state.standings[0]!.map((s) => s[0]);
      expect(remembered).toHaveLength(max);
      // Each remembered device clears, and one not remembered reports its breach again.
      const others = zone(1_000, 0.4, 3_000).filter(([id]) => !remembered.includes(id));
      const turns = remembered.flatMap((id, k): R[] => [[id, 'water_level', 0.1, 3_000 + 2 * k], [others[k]![0], 'water_level', 0.4, 3_001 + 2 * k]]);
      const after = feed(flood, high.state, turns);
      expect(after.transitions).toEqual([]);
      expect(after.state.standings[0]!.filter((s) => s[2] === 1).length).toBeGreaterThanOrEqual(3);
    });

    it('resolves when more remembered devices clear than the margin before any other breaching one reports (the bound’s corner)', () => {
      const high = feed(flood, undefined, zone(1_000, 0.4, 1_000));
      const remembered = high.state.standings[0]!.map((s) => s[0]);
      const clear = feed(flood, high.state, remembered.slice(2).map((id, k): R => [id, 'water_level', 0.1, 3_000 + k]));
      expect(clear.transitions).toEqual(['resolved']);
      // The next breaching reading of a device not remembered takes a cleared place.
      expect(feed(flood, clear.state, [['w999', 'water_level', 0.4, 4_000]]).transitions).toEqual(['firing']);
    });

    it('does not count a redelivered breach after the device cleared', () => {
      expect(run(flood, [['w1', 'water_level', 0.4, 0], ['w2', 'water_level', 0.4, 1], ['w1', 'water_level', 0.1, 2], ['w1', 'water_level', 0.1, 3], ['w3', 'water_level', 0.4, 4], ['w1', 'water_level', 0.4, 0]])).toEqual([
        'ok',
        'ok',
        'ok',
        'ok',
        'ok',
        'ok',
      ]);
    });

    it('counts a late breaching reading of a device it does not remember as new (the documented corner)', () => {
      // w1's quiet reading at 5 is not kept; its breach at 4, arriving after it, counts until w1's next reading.
      expect(run(flood, [['w1', 'water_level', 0.1, 5], ['w2', 'water_level', 0.4, 6], ['w3', 'water_level', 0.4, 7], ['w1', 'water_level', 0.4, 4], ['w1', 'water_level', 0.1, 8]])).toEqual([
        'ok',
        'ok',
        'ok',
        'firing',
        'resolved',
      ]);
    });

    it('loads state written with every device of the zone in it, and cuts it down at its next change', () => {
      const legacy: CompositeState = {
        phase: 'firing',
        since: 900,
        now: 1_999,
        standings: [[...zone(10_000, 0, 1_000).map(([id, , , ts]): [string, number, 0 | 1] => [id, ts, 0]), ['a', 1_500, 1], ['b', 1_600, 1], ['c', 1_700, 1]]],
      };
      // A duplicate of a quiet device it holds: nothing counted, but the list is cut to the bound.
      const dup = evaluateComposite(flood, legacy, { deviceId: 'w1', metric: 'water_level', value: 0.4, ts: 1_001 });
      expect(dup.transition).toBeUndefined();
      expect(dup.state.standings[0]).toHaveLength(max);
      expect(dup.state.standings[0]!.slice(0, 3)).toEqual([['c', 1_700, 1], ['b', 1_600, 1], ['a', 1_500, 1]]);
      // Its devices still count: one clears, the rule resolves.
      expect(evaluateComposite(flood, legacy, { deviceId: 'a', metric: 'water_level', value: 0.1, ts: 2_000 }).transition).toBe('resolved');
    });
  });
});

