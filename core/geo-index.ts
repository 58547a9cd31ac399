import Flatbush from 'flatbush';
import type { MultiPolygon, Polygon } from 'geojson';
import { areaBox, packAreas, pointInArea, type PackedAreas } from './point-in-polygon.js';

export interface GeoArea {
  id: string;
  geometry: Polygon | MultiPolygon;
}

/** Grid cells per area: about two candidate lists' worth of bounding boxes per cell. */
const CELLS_PER_AREA = 4;
/** The grid never grows past this many cells (memory stays in the low megabytes). */
const MAX_CELLS = 1 << 20;
/** A cell with more candidates than this is answered by the R-tree instead (clustered zones). */
const MAX_CELL_CANDIDATES = 32;

/**
 * Which areas contain a point. A packed R-tree (Flatbush) over the areas' bounding boxes finds
 * the candidates, then an exact point-in-polygon test decides (holes and MultiPolygons
 * respected; see point-in-polygon.ts, which agrees with @turf/boolean-point-in-polygon on every
 * point).
 *
 * Lookups sit on the ingest hot path (every reading is placed), so the R-tree's answers are
 * precomputed once per city onto a uniform grid: each cell keeps the areas whose box touches it,
 * and a lookup reads one cell instead of walking the tree's levels (about 5× faster at 10k zones;
 * see bench/geofence.ts). Cells that collect too many candidates fall back to the tree.
 *
 * Boundary rule: a point exactly on an area's edge or vertex (outer ring or hole) is inside that
 * area, so a point on the border shared by two areas is in both. Callers that need one owner
 * (jurisdictions) take `owner()`, the lowest id among them: a deterministic tie-break.
 */
export class GeoIndex<A extends GeoArea> {
  readonly areas: readonly A[];
  private readonly packed: PackedAreas;
  /** minX, minY, maxX, maxY per area, in id order. */
  private readonly boxes: Float64Array;
  private readonly tree: Flatbush | undefined;
  private readonly grid: Grid | undefined;

  constructor(areas: readonly A[]) {
    this.areas = [...areas].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.packed = packAreas(this.areas.map((a) => a.geometry));
    this.boxes = new Float64Array(this.areas.length * 4);
    if (this.areas.length === 0) return;
    this.tree = new Flatbush(this.areas.length);
    for (let i = 0; i < this.areas.length; i++) {
      const box = areaBox(this.packed, i);
      this.boxes.set(box, i * 4);
      this.tree.add(...box);
    }
    this.tree.finish();
    this.grid = buildGrid(this.tree, this.areas.length);
  }

  /** Areas containing (lon, lat), ordered by id. */
  containing(lon: number, lat: number): A[] {
    const out: A[] = [];
    const cell = this.cellOf(lon, lat);
    if (cell < 0) return out;
    const grid = this.grid!;
    if (grid.overfull[cell] === 1) {
      for (const i of this.searchTree(lon, lat)) out.push(this.areas[i]!);
      return out;
    }
    const end = grid.start[cell + 1]!;
    for (let k = grid.start[cell]!; k < end; k++) {
      const i = grid.items[k]!;
      if (this.contains(i, lon, lat)) out.push(this.areas[i]!);
    }
    return out;
  }

  /** The area owning a point under the tie-break rule (lowest id), if any. */
  owner(lon: number, lat: number): A | undefined {
    const cell = this.cellOf(lon, lat);
    if (cell < 0) return undefined;
    const grid = this.grid!;
    if (grid.overfull[cell] === 1) {
      const first = this.searchTree(lon, lat)[0];
      return first === undefined ? undefined : this.areas[first];
    }
    const end = grid.start[cell + 1]!;
    for (let k = grid.start[cell]!; k < end; k++) {
      const i = grid.items[k]!;
      if (this.contains(i, lon, lat)) return this.areas[i];
    }
    return undefined;
  }

  /** The grid cell of a point, or -1 outside every area's box. */
  private cellOf(x: number, y: number): number {
    const grid = this.grid;
    if (!grid || !(x >= grid.minX && x <= grid.maxX && y >= grid.minY && y <= grid.maxY)) return -1;
    const cx = Math.min(grid.nx - 1, Math.floor((x - grid.minX) / grid.cellW));
    const cy = Math.min(grid.ny - 1, Math.floor((y - grid.minY) / grid.cellH));
    return cy * grid.nx + cx;
  }

  private contains(i: number, x: number, y: number): boolean {
    const b = i * 4;
    const boxes = this.boxes;
    if (x < boxes[b]! || y < boxes[b + 1]! || x > boxes[b + 2]! || y > boxes[b + 3]!) return false;
    return pointInArea(this.packed, i, x, y);
  }

  private searchTree(x: number, y: number): number[] {
    return this.tree!.search(x, y, x, y, (i) => pointInArea(this.packed, i, x, y)).sort((a, b) => a - b);
  }
}

interface Grid {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  nx: number;
  ny: number;
  cellW: number;
  cellH: number;
  /** Cell c's candidates are items[start[c] .. start[c + 1]), ordered by id. */
  start: Uint32Array;
  items: Uint32Array;
  /** 1 for cells with too many candidates to list: the tree answers those. */
  overfull: Uint8Array;
}

function buildGrid(tree: Flatbush, count: number): Grid {
  const { minX, minY, maxX, maxY } = tree;
  const w = Math.max(maxX - minX, Number.MIN_VALUE);
  const h = Math.max(maxY - minY, Number.MIN_VALUE);
  const cells = Math.min(MAX_CELLS, Math.max(1, count * CELLS_PER_AREA));
  // Square-ish cells over the extent.
  const nx = Math.max(1, Math.min(cells, Math.round(Math.sqrt((cells * w) / h))));
  const ny = Math.max(1, Math.min(Math.floor(MAX_CELLS / nx), Math.ceil(cells / nx)));
  const cellW = w / nx;
  const cellH = h / ny;
  // Widen each cell by a hair so rounding at cell edges never drops a candidate; the exact
  // box and polygon tests run afterwards anyway.
  const padX = cellW * 1e-6;
  const padY = cellH * 1e-6;
  const lists: number[][] = [];
  const overfull = new Uint8Array(nx * ny);
  let total = 0;
  for (let cy = 0; cy < ny; cy++) {
    for (let cx = 0; cx < nx; cx++) {
      const x0 = minX + cx * cellW;
      const y0 = minY + cy * cellH;
      const found = tree.search(x0 - padX, y0 - padY, x0 + cellW + padX, y0 + cellH + padY);
      if (found.length > MAX_CELL_CANDIDATES) {
        overfull[lists.length] = 1;
        lists.push([]);
        continue;
      }
      found.sort((a, b) => a - b);
      lists.push(found);
      total += found.length;
    }
  }
  const start = new Uint32Array(nx * ny + 1);
  const items = new Uint32Array(total);
  let k = 0;
  lists.forEach((list, c) => {
    start[c] = k;
    items.set(list, k);
    k += list.length;
  });
  start[nx * ny] = k;
  return { minX, minY, maxX, maxY, nx, ny, cellW, cellH, start, items, overfull };
}
