/**
 * Geofence lookups per second at city scale: which zones contain a point, with the spatial
 * index (GeoIndex: Flatbush, then the packed point-in-polygon test) against a linear scan that
 * calls @turf/boolean-point-in-polygon on every zone, and the index with turf as the exact test
 * (what GeoIndex did before the packed test), all in one run on one core.
 *
 * `npm run bench` runs it; a bench runner imports `benchGeofence` and gets the figures back.
 */
import { pathToFileURL } from 'node:url';
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import Flatbush from 'flatbush';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { GeoIndex, type GeoArea } from '../core/geo-index.js';
import { seededRandom } from '../device-sim/random.js';

export interface GeofenceBenchOptions {
  /** Zone counts to measure. */
  sizes?: readonly number[];
  /** Time spent measuring each method at each size, after a warm-up. */
  durationMs?: number;
  /** Distinct query points, cycled through. */
  points?: number;
  /** Seed of the generated city, so runs compare. */
  seed?: number;
}

export const DEFAULT_GEOFENCE_SIZES = [10, 1_000, 10_000] as const;
/** Long enough for the JIT to settle and for timer resolution not to matter. */
export const DEFAULT_GEOFENCE_DURATION_MS = 1_000;
export const DEFAULT_GEOFENCE_POINTS = 1 << 16;

/** Points checked for identical answers across methods before timing. */
const VERIFY_POINTS = 200;

export type GeofenceMethod = 'indexed' | 'indexed+turf' | 'linear turf';

export interface GeofenceBenchResult {
  zones: number;
  method: GeofenceMethod;
  lookups: number;
  /** Wall-clock time measured. */
  seconds: number;
  lookupsPerSecond: number;
  /** CPU time this process used meanwhile (user + system, all its threads). */
  cpuSeconds: number;
  /** Lookups per CPU-second: what one core does, even on a machine busy with other work. */
  lookupsPerCpuSecond: number;
  /** Zones found per lookup on average: the work is real, and every method finds the same. */
  hitsPerLookup: number;
}

/** The Tianhe district's extent: the synthetic zones cover it the way real ones would. */
const EXTENT = { minLon: 113.3, minLat: 23.1, maxLon: 113.42, maxLat: 23.2 } as const;

function starRing(cx: number, cy: number, r: number, vertices: number, rand: () => number, reverse = false): Position[] {
  const ring: Position[] = [];
  for (let i = 0; i < vertices; i++) {
    const a = ((reverse ? -i : i) / vertices) * 2 * Math.PI;
    const k = r * (0.7 + 0.3 * rand());
    ring.push([cx + k * Math.cos(a), cy + k * Math.sin(a)]);
  }
  ring.push([...ring[0]!]);
  return ring;
}

/**
 * `n` zones on a grid over the district, each a 12–24-vertex polygon about as wide as its cell's
 * diagonal so neighbours overlap; every 4th has a hole, every 10th is a MultiPolygon with a
 * second part. A point falls in about one zone on average, as in a dense city.
 */
export function syntheticZones(n: number, seed = 1): GeoArea[] {
  const rand = seededRandom(seed);
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const w = (EXTENT.maxLon - EXTENT.minLon) / cols;
  const h = (EXTENT.maxLat - EXTENT.minLat) / rows;
  const zones: GeoArea[] = [];
  for (let i = 0; i < n; i++) {
    const cx = EXTENT.minLon + ((i % cols) + 0.5) * w;
    const cy = EXTENT.minLat + (Math.floor(i / cols) + 0.5) * h;
    const r = 0.5 * Math.hypot(w, h);
    const vertices = 12 + Math.floor(rand() * 13);
    const outer = starRing(cx, cy, r, vertices, rand);
    let geometry: Polygon | MultiPolygon = { type: 'Polygon', coordinates: i % 4 === 0 ? [outer, starRing(cx, cy, r * 0.3, 8, rand, true)] : [outer] };
    if (i % 10 === 0) geometry = { type: 'MultiPolygon', coordinates: [geometry.coordinates, [starRing(cx + w * 0.45, cy + h * 0.45, r * 0.2, 8, rand)]] };
    zones.push({ id: `z${String(i).padStart(6, '0')}`, geometry });
  }
  return zones;
}

function queryPoints(count: number, seed: number): Float64Array {
  const rand = seededRandom(seed ^ 0x9e3779b9);
  const pts = new Float64Array(count * 2);
  for (let i = 0; i < count; i++) {
    pts[i * 2] = EXTENT.minLon + rand() * (EXTENT.maxLon - EXTENT.minLon);
    pts[i * 2 + 1] = EXTENT.minLat + rand() * (EXTENT.maxLat - EXTENT.minLat);
  }
  return pts;
}

type Lookup = (lon: number, lat: number) => number;

function lookups(zones: readonly GeoArea[]): Record<GeofenceMethod, Lookup> {
  const index = new GeoIndex(zones);
  const tree = new Flatbush(zones.length);
  for (const z of zones) {
    const rings = z.geometry.type === 'Polygon' ? [z.geometry.coordinates[0]!] : z.geometry.coordinates.map((p) => p[0]!);
    const xs = rings.flat().map((p) => p[0]!);
    const ys = rings.flat().map((p) => p[1]!);
    tree.add(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
  }
  tree.finish();
  return {
    indexed: (lon, lat) => index.containing(lon, lat).length,
    'indexed+turf': (lon, lat) => {
      const pt = [lon, lat];
      let hits = 0;
      for (const i of tree.search(lon, lat, lon, lat)) if (booleanPointInPolygon(pt, zones[i]!.geometry)) hits++;
      return hits;
    },
    'linear turf': (lon, lat) => {
      const pt = [lon, lat];
      let hits = 0;
      for (const z of zones) if (booleanPointInPolygon(pt, z.geometry)) hits++;
      return hits;
    },
  };
}

/** The index must find exactly the zones a linear turf scan finds: a fast wrong answer is no result. */
function verify(zones: readonly GeoArea[], pts: Float64Array, count: number): void {
  const index = new GeoIndex(zones);
  for (let i = 0; i < count; i++) {
    const pt = [pts[i * 2]!, pts[i * 2 + 1]!];
    const indexed = index.containing(pt[0]!, pt[1]!).map((z) => z.id).join(',');
    const linear = zones.filter((z) => booleanPointInPolygon(pt, z.geometry)).map((z) => z.id).sort().join(',');
    if (indexed !== linear) throw new Error(`the index disagrees with turf at ${pt}: [${indexed}] vs [${linear}]`);
  }
}

function measure(lookup: Lookup, pts: Float64Array, durationMs: number): { lookups: number; seconds: number; cpuSeconds: number; hits: number } {
  const n = pts.length / 2;
  const chunk = 1024;
  let i = 0;
  let done = 0;
  let hits = 0;
  const run = (until: number): void => {
    while (performance.now() < until) {
      for (let k = 0; k < chunk; k++) {
        hits += lookup(pts[i * 2]!, pts[i * 2 + 1]!);
        i = i + 1 === n ? 0 : i + 1;
      }
      done += chunk;
    }
  };
  run(performance.now() + Math.min(200, durationMs / 4));
  done = 0;
  hits = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  run(t0 + durationMs);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { lookups: done, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, hits };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function benchGeofence(opts: GeofenceBenchOptions = {}, out: NodeJS.WritableStream = process.stdout): Promise<GeofenceBenchResult[]> {
  const sizes = opts.sizes ?? DEFAULT_GEOFENCE_SIZES;
  const durationMs = opts.durationMs ?? DEFAULT_GEOFENCE_DURATION_MS;
  const seed = opts.seed ?? 1;
  const pts = queryPoints(opts.points ?? DEFAULT_GEOFENCE_POINTS, seed);
  const results: GeofenceBenchResult[] = [];
  const span = `${(EXTENT.maxLon - EXTENT.minLon).toFixed(2)}° × ${(EXTENT.maxLat - EXTENT.minLat).toFixed(2)}°`;
  out.write(`geofence lookups: ${pts.length / 2} random points over ${span}, ${durationMs} ms per case, one core, node ${process.version}\n`);
  out.write(`${'zones'.padStart(7)}  ${'method'.padEnd(13)}  ${'lookups/s'.padStart(12)}  ${'lookups/cpu-s'.padStart(14)}  ${'zones/lookup'.padStart(12)}\n`);
  for (const size of sizes) {
    const zones = syntheticZones(size, seed);
    verify(zones, pts, VERIFY_POINTS);
    const methods = lookups(zones);
    for (const method of Object.keys(methods) as GeofenceMethod[]) {
      const m = measure(methods[method], pts, durationMs);
      const r: GeofenceBenchResult = {
        zones: size,
        method,
        lookups: m.lookups,
        seconds: m.seconds,
        lookupsPerSecond: m.lookups / m.seconds,
        cpuSeconds: m.cpuSeconds,
        lookupsPerCpuSecond: m.lookups / m.cpuSeconds,
        hitsPerLookup: m.hits / m.lookups,
      };
      results.push(r);
      out.write(`${fmt(size).padStart(7)}  ${method.padEnd(13)}  ${fmt(r.lookupsPerSecond).padStart(12)}  ${fmt(r.lookupsPerCpuSecond).padStart(14)}  ${r.hitsPerLookup.toFixed(3).padStart(12)}\n`);
    }
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchGeofence();
}
