import { describe, expect, it } from 'vitest';
import { checkMetric } from '../core/metric-catalog.js';
import { KINDS, MODELS, kindForMetric, seededRandom } from './models.js';

describe('device models', () => {
  it('are deterministic for a seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    expect(MODELS.water_level.sample(1, seededRandom(1), false)).toEqual(MODELS.water_level.sample(1, seededRandom(1), false));
  });

  it('stay within the plausible ranges of the metric catalogue, normal or in a hazard', () => {
    const rand = seededRandom(7);
    for (const kind of KINDS) {
      for (let i = 0; i < 200; i++) {
        for (const hazard of [false, true]) {
          for (const [metric, value] of Object.entries(MODELS[kind].sample(i * 60_000, rand, hazard))) {
            expect(checkMetric(metric, value), `${kind} ${metric}=${value}`).toMatchObject({ ok: true });
          }
        }
      }
    }
  });

  it('cross the demo thresholds only in a hazard', () => {
    const rand = seededRandom(3);
    for (let i = 0; i < 100; i++) {
      expect(MODELS.water_level.sample(i, rand, false).water_level as number).toBeLessThanOrEqual(0.3);
      expect(MODELS.water_level.sample(i, rand, true).water_level as number).toBeGreaterThan(0.3);
      expect(MODELS.smoke.sample(i, rand, true).smoke as number).toBeGreaterThan(10);
      expect(MODELS.gas.sample(i, rand, true).gas_lel as number).toBeGreaterThan(25);
    }
  });

  it('finds the kind that reports a metric', () => {
    expect(kindForMetric('water_level')).toBe('water_level');
    expect(kindForMetric('manhole_open')).toBe('manhole');
    expect(kindForMetric('nope')).toBeUndefined();
  });
});
