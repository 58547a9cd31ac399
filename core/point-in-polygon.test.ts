import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import fc from 'fast-check';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { areaBox, packAreas, pointInArea } from './point-in-polygon.js';

/** A star-shaped ring around (cx, cy): never self-intersecting, closed. */
function starRing(cx: number, cy: number, radii: readonly number[], clockwise = false): Position[] {
  const n = radii.length;
  const ring: Position[] = radii.map((r, i) => {
    const a = ((clockwise ? -i : i) / n) * 2 * Math.PI;
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
  ring.push([...ring[0]!]);
  return ring;
}

const radii = (min: number, max: number) => fc.array(fc.double({ min, max, noNaN: true }), { minLength: 3, maxLength: 24 });
const center = fc.tuple(fc.double({ min: 113, max: 114, noNaN: true }), fc.double({ min: 23, max: 24, noNaN: true }));

/** Polygons with and without a hole, and MultiPolygons of two such parts. */
const areaArb: fc.Arbitrary<Polygon | MultiPolygon> = fc.oneof(
  fc.tuple(center, radii(0.01, 0.05)).map(([[x, y], r]): Polygon => ({ type: 'Polygon', coordinates: [starRing(x, y, r)] })),
  fc
    .tuple(center, radii(0.03, 0.05), radii(0.005, 0.02))
    .map(([[x, y], outer, hole]): Polygon => ({ type: 'Polygon', coordinates: [starRing(x, y, outer), starRing(x, y, hole, true)] })),
  fc.tuple(center, radii(0.01, 0.05), radii(0.01, 0.05)).map(
    ([[x, y], a, b]): MultiPolygon => ({ type: 'MultiPolygon', coordinates: [[starRing(x, y, a)], [starRing(x + 0.08, y, b)]] }),
  ),
);

/** Points around an area: anywhere near it, exactly on its vertices, and along its edges. */
function probes(geometry: Polygon | MultiPolygon, t: readonly number[], offsets: readonly [number, number][]): Position[] {
  const rings = (geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates).flat();
  const out: Position[] = [];
  for (const ring of rings) {
    const [x0, y0] = ring[0]!;
    for (const [dx, dy] of offsets) out.push([x0! + dx, y0! + dy]);
    ring.forEach((p, i) => {
      out.push(p);
      const q = ring[(i + 1) % ring.length]!;
      const s = t[i % t.length]!;
      out.push([p[0]! + (q[0]! - p[0]!) * s, p[1]! + (q[1]! - p[1]!) * s]);
    });
  }
  return out;
}

describe('pointInArea', () => {
  it('agrees with @turf/boolean-point-in-polygon on random areas and points, edges and vertices included', () => {
    fc.assert(
      fc.property(
        fc.array(areaArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.double({ min: -0.1, max: 0.1, noNaN: true }), fc.double({ min: -0.1, max: 0.1, noNaN: true })), { minLength: 1, maxLength: 40 }),
        (geometries, t, offsets) => {
          // Packed together, so every area is read at its own offsets.
          const packed = packAreas(geometries);
          geometries.forEach((geometry, a) => {
            for (const p of probes(geometry, t, offsets)) {
              expect(pointInArea(packed, a, p[0]!, p[1]!), `point ${p} in ${JSON.stringify(geometry)}`).toBe(booleanPointInPolygon(p, geometry));
            }
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('counts edges and vertices of the outer ring and of holes as inside', () => {
    const donut: Polygon = {
      type: 'Polygon',
      coordinates: [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
        [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
      ],
    };
    const packed = packAreas([donut]);
    expect(pointInArea(packed, 0, 5, 5)).toBe(false);
    for (const [x, y] of [[0, 5], [10, 10], [5, 0], [4, 5], [5, 6], [6, 6], [1, 1]] as const) expect(pointInArea(packed, 0, x, y)).toBe(true);
    expect(pointInArea(packed, 0, 10.000001, 5)).toBe(false);
    expect(areaBox(packed, 0)).toEqual([0, 0, 10, 10]);
  });

  it('unites the parts of a MultiPolygon', () => {
    const two: MultiPolygon = {
      type: 'MultiPolygon',
      coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], [[[2, 0], [3, 0], [3, 1], [2, 1], [2, 0]]]],
    };
    const packed = packAreas([two]);
    expect([0.5, 1.5, 2.5].map((x) => pointInArea(packed, 0, x, 0.5))).toEqual([true, false, true]);
  });
});
