import { describe, expect, it } from 'vitest';
import { MAX_WINDOW_SAMPLES, evaluateRate, type RateParams, type RateState } from './rate.js';

const MIN = 60_000;

function run(rule: RateParams, points: [ts: number, value: number][]): string[] {
  let state: RateState | undefined;
  return points.map(([ts, v]) => {
    const r = evaluateRate(rule, state, v, ts);
    state = r.state;
    return r.transition ?? state.phase;
  });
}

describe('rate-of-change rule', () => {
  const rising = { rise: 0.05, within: 10 * MIN };

  it('fires when the value rose more than `rise` within the window, strictly', () => {
    expect(run(rising, [[0, 0.1], [5 * MIN, 0.13], [10 * MIN, 0.14], [11 * MIN, 0.19]])).toEqual(['ok', 'ok', 'ok', 'firing']);
    // Exactly `rise` is not more than `rise` (whole numbers, so no rounding blurs the edge).
    expect(run({ rise: 5, within: 10 * MIN }, [[0, 10], [MIN, 15]])).toEqual(['ok', 'ok']);
    expect(run({ rise: 5, within: 10 * MIN }, [[0, 10], [MIN, 15.001]])).toEqual(['ok', 'firing']);
  });

  it('measures from the lowest value in the window, not the first', () => {
    expect(run({ rise: 5, within: 10 * MIN }, [[0, 12], [MIN, 8], [2 * MIN, 11], [3 * MIN, 14]])).toEqual(['ok', 'ok', 'ok', 'firing']);
  });

  it('includes a reading exactly `within` old, and forgets older ones', () => {
    expect(run({ rise: 5, within: 10 * MIN }, [[0, 0], [10 * MIN, 6]])).toEqual(['ok', 'firing']);
    expect(run({ rise: 5, within: 10 * MIN }, [[0, 0], [10 * MIN + 1, 6]])).toEqual(['ok', 'ok']);
  });

  it('starts from no change after a gap longer than the window', () => {
    expect(run({ rise: 5, within: 10 * MIN }, [[0, 0], [MIN, 1], [60 * MIN, 9], [61 * MIN, 10]])).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('resolves once the rise within the window is back at or under clearRise', () => {
    const rule = { rise: 5, clearRise: 2, within: 10 * MIN };
    // Fires on the climb; the level then holds, and once the 0 leaves the window the rise is
    // 7 - 6 = 1.
    expect(run(rule, [[0, 0], [MIN, 6], [5 * MIN, 7], [10 * MIN, 7], [11 * MIN, 7], [12 * MIN, 7]])).toEqual(['ok', 'firing', 'firing', 'firing', 'resolved', 'ok']);
    // A rise of 3 (from 6 at 1 min to 9 at 11 min) is within the band: still firing.
    expect(run(rule, [[0, 0], [MIN, 6], [11 * MIN, 9]])).toEqual(['ok', 'firing', 'firing']);
  });

  it('watches falls with `fall`', () => {
    expect(run({ fall: 3, within: 5 * MIN }, [[0, 10], [MIN, 8], [2 * MIN, 6.9], [20 * MIN, 6.9]])).toEqual(['ok', 'ok', 'firing', 'resolved']);
  });

  it('ignores duplicate and late readings', () => {
    let state = evaluateRate(rising, undefined, 0.1, 1_000).state;
    state = evaluateRate(rising, state, 0.12, 2_000).state;
    expect(evaluateRate(rising, state, 5, 2_000)).toMatchObject({ state, transition: undefined });
    expect(evaluateRate(rising, state, 5, 1_500)).toMatchObject({ state, transition: undefined });
  });

  it('keeps the state bounded on a long steady climb, and still sees the climb', () => {
    let state: RateState | undefined;
    let fired = 0;
    // One reading a second for an hour, rising 1 mm each: 0.6 m per 10 min.
    for (let i = 0; i < 3600; i++) {
      const r = evaluateRate({ rise: 0.5, within: 10 * MIN }, state, i * 0.001, i * 1000);
      state = r.state;
      if (r.transition === 'firing') fired++;
      expect(state.lows.length).toBeLessThanOrEqual(MAX_WINDOW_SAMPLES);
    }
    expect(fired).toBe(1);
    expect(state!.phase).toBe('firing');
  });
});
