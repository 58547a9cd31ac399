/**
 * Point in polygon for the geofence hot path. Geometry is packed once into flat typed arrays so
 * a lookup walks numbers, not nested GeoJSON arrays.
 *
 * The test is the crossing-number algorithm of Hao et al., "Optimal Reliable Point-in-Polygon
 * Test and Differential Coding Boolean Operations on Polygons" (2018), the one
 * @turf/boolean-point-in-polygon runs: the same subtractions and an exact orientation sign, so
 * both agree on every point, including points exactly on an edge. The orientation takes the
 * floating-point fast path and falls back to robust-predicates' adaptive `orient2d` only when
 * rounding could flip the sign.
 *
 * Boundary rule: a point on any edge or vertex of an area (outer ring or hole) is inside it.
 * Parts of a MultiPolygon are tested separately and united, as turf does.
 */
import { orient2d } from 'robust-predicates';
import type { MultiPolygon, Polygon } from 'geojson';

/** The error bound of the floating-point orientation (Shewchuk's ccwerrboundA). */
const EPSILON = 2 ** -53;
const CCW_ERR_BOUND_A = (3 + 16 * EPSILON) * EPSILON;

/**
 * Many areas packed back to back: area a's parts are [areaStart[a], areaStart[a + 1]), part p's
 * rings are [partStart[p], partStart[p + 1]), ring r's positions are
 * [ringStart[r], ringStart[r + 1]), and position i is (coords[2i], coords[2i + 1]). One flat
 * buffer keeps a city's zones in a few contiguous arrays, which matters once they outgrow the
 * CPU caches.
 */
export interface PackedAreas {
  readonly coords: Float64Array;
  readonly ringStart: Uint32Array;
  readonly partStart: Uint32Array;
  readonly areaStart: Uint32Array;
}

export function packAreas(geometries: readonly (Polygon | MultiPolygon)[]): PackedAreas {
  const partsOf = geometries.map((g) => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates));
  let positions = 0;
  let rings = 0;
  let parts = 0;
  for (const ps of partsOf) {
    parts += ps.length;
    for (const part of ps) {
      rings += part.length;
      for (const ring of part) positions += ring.length;
    }
  }
  const coords = new Float64Array(positions * 2);
  const ringStart = new Uint32Array(rings + 1);
  const partStart = new Uint32Array(parts + 1);
  const areaStart = new Uint32Array(geometries.length + 1);
  let p = 0;
  let r = 0;
  let q = 0;
  partsOf.forEach((ps, a) => {
    areaStart[a] = q;
    for (const part of ps) {
      partStart[q++] = r;
      for (const ring of part) {
        ringStart[r++] = p;
        for (const pos of ring) {
          coords[p * 2] = pos[0]!;
          coords[p * 2 + 1] = pos[1]!;
          p++;
        }
      }
    }
  });
  ringStart[rings] = p;
  partStart[parts] = rings;
  areaStart[geometries.length] = parts;
  return { coords, ringStart, partStart, areaStart };
}

/** Whether (x, y) is inside area `a` or on its boundary. */
export function pointInArea(areas: PackedAreas, a: number, x: number, y: number): boolean {
  const { partStart, areaStart } = areas;
  const end = areaStart[a + 1]!;
  for (let part = areaStart[a]!; part < end; part++) {
    if (pointInPart(areas, partStart[part]!, partStart[part + 1]!, x, y)) return true;
  }
  return false;
}

/** The bounding box of area `a` (its parts' outer rings: holes lie inside them). */
export function areaBox(areas: PackedAreas, a: number): [number, number, number, number] {
  const { coords, ringStart, partStart, areaStart } = areas;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let part = areaStart[a]!; part < areaStart[a + 1]!; part++) {
    const ring = partStart[part]!;
    for (let i = ringStart[ring]!; i < ringStart[ring + 1]!; i++) {
      const x = coords[i * 2]!;
      const y = coords[i * 2 + 1]!;
      if (x < minX) minX = x;
      if (y < minY) minY = y;
      if (x > maxX) maxX = x;
      if (y > maxY) maxY = y;
    }
  }
  return [minX, minY, maxX, maxY];
}

function pointInPart(areas: PackedAreas, firstRing: number, endRing: number, x: number, y: number): boolean {
  const { coords, ringStart } = areas;
  let crossings = 0;
  for (let ring = firstRing; ring < endRing; ring++) {
    const start = ringStart[ring]! * 2;
    const last = (ringStart[ring + 1]! - 1) * 2;
    let u1 = coords[start]! - x;
    let v1 = coords[start + 1]! - y;
    for (let i = start + 2; i <= last; i += 2) {
      const u2 = coords[i]! - x;
      const v2 = coords[i + 1]! - y;
      if (v1 === 0 && v2 === 0) {
        // A horizontal edge through the point: on it when the point lies between its ends.
        if ((u2 <= 0 && u1 >= 0) || (u1 <= 0 && u2 >= 0)) return true;
      } else if ((v2 >= 0 && v1 <= 0) || (v2 <= 0 && v1 >= 0)) {
        const f = orientation(u1, u2, v1, v2);
        if (f === 0) return true;
        if ((f > 0 && v2 > 0 && v1 <= 0) || (f < 0 && v2 <= 0 && v1 > 0)) crossings++;
      }
      u1 = u2;
      v1 = v2;
    }
  }
  return (crossings & 1) === 1;
}

/** The sign of u2·v1 − u1·v2, exact (the argument order mirrors orient2d(u1, u2, v1, v2, 0, 0)). */
function orientation(u1: number, u2: number, v1: number, v2: number): number {
  const left = u2 * v1;
  const right = u1 * v2;
  const det = left - right;
  if (Math.abs(det) >= CCW_ERR_BOUND_A * Math.abs(left + right)) return det;
  return orient2d(u1, u2, v1, v2, 0, 0);
}
