import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateThreshold, type ThresholdParams, type ThresholdState } from './threshold.js';

function run(rule: ThresholdParams, points: [ts: number, value: number][]): string[] {
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

  it('needs "consecutive" breaching readings in a row, and "for" as well when both are set', () => {
    expect(run({ above: 10, for: 0, consecutive: 3 }, [[1, 11], [2, 12], [3, 9], [4, 11], [5, 11], [6, 11], [7, 11]])).toEqual([
      'pending', 'pending', 'ok', 'pending', 'pending', 'firing', 'firing',
    ]);
    // Three readings within 5 s do not satisfy a 60 s hold; the hold then needs no more readings.
    expect(run({ above: 10, for: 60_000, consecutive: 3 }, [[0, 11], [1_000, 11], [5_000, 11], [60_000, 11]])).toEqual(['pending', 'pending', 'pending', 'firing']);
    // A duplicate does not count twice.
    expect(run({ above: 10, for: 0, consecutive: 2 }, [[1, 11], [1, 11], [2, 11]])).toEqual(['pending', 'pending', 'firing']);
  });

  it('holds the last value across a gap in the data', () => {
    const rule = { above: 0.3, for: 60_000 };
    // Breach, then nothing for an hour, then still a breach: it held, so it fires.
    expect(run(rule, [[0, 0.5], [3_600_000, 0.5]])).toEqual(['pending', 'firing']);
    // Firing, a long gap, still high: no second firing.
    expect(run(rule, [[0, 0.5], [60_000, 0.5], [7_200_000, 0.6]])).toEqual(['pending', 'firing', 'firing']);
  });

  it('treats a value exactly at the bounds as normal, and exactly at the clear bound as cleared', () => {
    expect(run({ above: 0.3, clearBelow: 0.2, for: 0 }, [[1, 0.3], [2, 0.30001], [3, 0.2], [4, 0.3]])).toEqual(['ok', 'firing', 'resolved', 'ok']);
    expect(run({ below: 10, clearAbove: 12, for: 0 }, [[1, 10], [2, 9.99], [3, 11.99], [4, 12]])).toEqual(['ok', 'firing', 'firing', 'resolved']);
  });

  it('does not chatter on a noisy signal around the threshold', () => {
    const noisy: [number, number][] = [0.29, 0.31, 0.28, 0.33, 0.27, 0.32, 0.26, 0.34, 0.29, 0.31].map((v, i) => [i, v]);
    const transitions = (rule: ThresholdParams): string[] => {
      let state: ThresholdState | undefined;
      return noisy.flatMap(([ts, v]) => {
        const r = evaluateThreshold(rule, state, v, ts);
        state = r.state;
        return r.transition ? [r.transition] : [];
      });
    };
    expect(transitions({ above: 0.3, clearBelow: 0.2, for: 0 })).toEqual(['firing']);
    // Without a band, the same noise flaps on every crossing: the reason for clearBelow.
    expect(transitions({ above: 0.3, for: 0 })).toHaveLength(9);
  });
});

describe('threshold hysteresis (property)', () => {
  const band = fc
    .tuple(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: 0.001, max: 50, noNaN: true }))
    .map(([clearBelow, width]) => ({ clearBelow, above: clearBelow + width }));

  it('fires only above the bound and resolves only at or below the clear bound, alternating, never more often than the signal crosses the whole band', () => {
    fc.assert(
      fc.property(band, fc.array(fc.double({ min: -200, max: 200, noNaN: true }), { maxLength: 200 }), ({ above, clearBelow }, values) => {
        let state: ThresholdState | undefined;
        const transitions: ('firing' | 'resolved')[] = [];
        // Crossings of the whole band, counted independently of the rule: from at-or-below
        // clearBelow to above `above`, and back.
        let side: 'low' | 'high' = 'low';
        let crossings = 0;
        values.forEach((v, ts) => {
          const r = evaluateThreshold({ above, clearBelow, for: 0 }, state, v, ts);
          state = r.state;
          if (r.transition === 'firing') expect(v).toBeGreaterThan(above);
          if (r.transition === 'resolved') expect(v).toBeLessThanOrEqual(clearBelow);
          if (r.transition) transitions.push(r.transition);
          if (side === 'low' && v > above) [side, crossings] = ['high', crossings + 1];
          else if (side === 'high' && v <= clearBelow) [side, crossings] = ['low', crossings + 1];
        });
        transitions.forEach((t, i) => expect(t).toBe(i % 2 === 0 ? 'firing' : 'resolved'));
        expect(transitions.length).toBe(crossings);
      }),
      { numRuns: 500 },
    );
  });

  it('never changes state twice on noise narrower than the band', () => {
    fc.assert(
      fc.property(band, fc.double({ min: -150, max: 150, noNaN: true }), fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { maxLength: 200 }), ({ above, clearBelow }, level, noise) => {
        const width = above - clearBelow;
        let state: ThresholdState | undefined;
        let transitions = 0;
        noise.forEach((n, ts) => {
          const r = evaluateThreshold({ above, clearBelow, for: 0 }, state, level + n * width, ts);
          state = r.state;
          if (r.transition) transitions++;
        });
        expect(transitions).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });

  it('with a hold time, fires again only after the breach held that long once more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600_000 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 120_000 }), fc.boolean()), { maxLength: 200 }),
        (hold, steps) => {
          let state: ThresholdState | undefined;
          let ts = 0;
          let breachSince: number | undefined;
          for (const [dt, high] of steps) {
            ts += dt;
            const r = evaluateThreshold({ above: 1, for: hold }, state, high ? 2 : 0, ts);
            state = r.state;
            breachSince = high ? (breachSince ?? ts) : undefined;
            if (r.transition === 'firing') expect(ts - breachSince!).toBeGreaterThanOrEqual(hold);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

