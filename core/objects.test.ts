import { describe, expect, it } from 'vitest';
import { shareOneShape } from '../test/support/hidden-class.js';
import { extended } from './objects.js';

describe('extended', () => {
  it('copies the keys, sets the new one, and leaves the source as it was', () => {
    const source = { deviceId: 'wl-1', value: 0.4 };
    const copy = extended(source, 'loc', { lat: 23.1, lon: 113.3 });
    expect(copy).toEqual({ deviceId: 'wl-1', value: 0.4, loc: { lat: 23.1, lon: 113.3 } });
    expect(Object.keys(copy)).toEqual(['deviceId', 'value', 'loc']);
    expect(source).toEqual({ deviceId: 'wl-1', value: 0.4 });
  });

  it('overwrites a key the source has', () => {
    expect(extended({ ts: 1, metric: 'pm25' }, 'ts', 2)).toEqual({ ts: 2, metric: 'pm25' });
  });

  it('gives copies of one shape one hidden class', () => {
    const loc = { lat: 23.1, lon: 113.3 };
    const copies = Array.from({ length: 50 }, (_, i) => extended({ deviceId: `wl-${i}`, metric: 'water_level', value: i, ts: i }, 'loc', loc));
    expect(shareOneShape(copies)).toBe(true);
  });
});
