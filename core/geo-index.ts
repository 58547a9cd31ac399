import Flatbush from 'flatbush';
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import type { MultiPolygon, Polygon } from 'geojson';

export interface GeoArea {
  id: string;
  geometry: Polygon | MultiPolygon;
}

/**
 * Which areas contain a point: a packed R-tree (Flatbush) over bounding boxes narrows the
 * candidates, then an exact point-in-polygon test (holes and MultiPolygons respected).
 *
 * Boundary rule: a point exactly on an area's edge is inside that area, so a point on the
 * border shared by two areas is in both. Callers that need one owner (jurisdictions) take the
 * first of `containing()`, which is ordered by id: a deterministic tie-break.
 */
export class GeoIndex<A extends GeoArea> {
  readonly areas: readonly A[];
  private readonly tree: Flatbush | undefined;

  constructor(areas: readonly A[]) {
    this.areas = [...areas].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (this.areas.length === 0) return;
    this.tree = new Flatbush(this.areas.length);
    for (const area of this.areas) {
      const [minX, minY, maxX, maxY] = bbox(area.geometry);
      this.tree.add(minX, minY, maxX, maxY);
    }
    this.tree.finish();
  }

  /** Areas containing (lon, lat), ordered by id. */
  containing(lon: number, lat: number): A[] {
    if (!this.tree) return [];
    const candidates = this.tree.search(lon, lat, lon, lat);
    if (candidates.length === 0) return [];
    // Index order equals id order, so sorting candidate indices sorts by id.
    candidates.sort((a, b) => a - b);
    const point: [number, number] = [lon, lat];
    const out: A[] = [];
    for (const i of candidates) {
      const area = this.areas[i]!;
      if (booleanPointInPolygon(point, area.geometry)) out.push(area);
    }
    return out;
  }

  /** The area owning a point under the tie-break rule (lowest id), if any. */
  owner(lon: number, lat: number): A | undefined {
    return this.containing(lon, lat)[0];
  }
}

function bbox(geometry: Polygon | MultiPolygon): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  for (const polygon of polygons) {
    // The outer ring bounds the polygon; holes lie inside it.
    for (const [x, y] of polygon[0] ?? []) {
      if (x! < minX) minX = x!;
      if (y! < minY) minY = y!;
      if (x! > maxX) maxX = x!;
      if (y! > maxY) maxY = y!;
    }
  }
  return [minX, minY, maxX, maxY];
}
