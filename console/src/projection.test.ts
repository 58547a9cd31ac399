import { describe, expect, it } from 'vitest';
import { projector, unproject } from './projection.js';

/**
 * Known WGS-84 → GCJ-02 pairs (lat, lon), from the test suite of eviltransform, an implementation
 * independent of gcoord: the console must land where a GCJ-02 map service draws the point.
 */
const PAIRS = [
  { city: 'Shanghai', wgs: [31.1774276, 121.5272106], gcj: [31.17530398364597, 121.531541859215] },
  { city: 'Shenzhen', wgs: [22.543847, 113.912316], gcj: [22.540796131694766, 113.9171764808363] },
  { city: 'Beijing', wgs: [39.911954, 116.377817], gcj: [39.91334545536069, 116.38404722455657] },
] as const;
/** 1e-6° is about 0.1 m: far below a pixel at any zoom the console offers. */
const EPS = 1e-6;

describe('drawing WGS-84 data on GCJ-02 tiles', () => {
  it.each(PAIRS)('shifts $city onto the GCJ-02 grid, and back', ({ wgs, gcj }) => {
    const [lat, lon] = projector('gcj02')(wgs[0], wgs[1]);
    expect(Math.abs(lat - gcj[0])).toBeLessThan(EPS);
    expect(Math.abs(lon - gcj[1])).toBeLessThan(EPS);
    const [blat, blon] = unproject('gcj02', gcj[0], gcj[1]);
    expect(Math.abs(blat - wgs[0])).toBeLessThan(EPS);
    expect(Math.abs(blon - wgs[1])).toBeLessThan(EPS);
  });

  it('leaves points alone on WGS-84 tiles and the schematic, and outside China', () => {
    expect(projector('wgs84')(23.1291, 113.2644)).toEqual([23.1291, 113.2644]);
    expect(projector(null)(23.1291, 113.2644)).toEqual([23.1291, 113.2644]);
    expect(projector('gcj02')(48.8584, 2.2945)).toEqual([48.8584, 2.2945]);
  });

  it('moves a Tianhe point by the few hundred metres a GCJ-02 map shows', () => {
    const [lat, lon] = projector('gcj02')(23.135, 113.335);
    const metres = Math.hypot((lat - 23.135) * 111_320, (lon - 113.335) * 111_320 * Math.cos((23.135 * Math.PI) / 180));
    expect(metres).toBeGreaterThan(300);
    expect(metres).toBeLessThan(800);
  });
});
