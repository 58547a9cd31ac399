/**
 * A simulated fleet: devices of each kind placed inside the city's zones that suit them, with
 * ids numbered per kind (`sim-gas-0003` is the third gas sensor) so a scenario can name them.
 */
import type { City, ZoneSelector } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import type { Location } from '../core/schemas.js';
import { zoneMatches } from '../core/zone-selector.js';
import { DEVICE_KINDS, MODELS, type DeviceKind } from './models.js';

export interface SimDevice {
  id: string;
  kind: DeviceKind;
  location: Location;
  /** The zone the device was placed in, if any. */
  zoneId: string | undefined;
  zoneKind: string | undefined;
  zoneTags: readonly string[];
  /** Every zone containing the location, and its jurisdiction: what scenario targets match on. */
  zoneIds: readonly string[];
  subcenterId: string | undefined;
}

export interface FleetSpec {
  kind: DeviceKind;
  count: number;
  /** Where to install them; default: the zones the kind usually goes in. */
  zones?: ZoneSelector;
}

/** `total` devices cycling through the kinds: the fleet when no scenario describes one. */
export function mixedFleet(total: number): FleetSpec[] {
  return DEVICE_KINDS.map((kind, i) => ({ kind, count: Math.floor(total / DEVICE_KINDS.length) + (i < total % DEVICE_KINDS.length ? 1 : 0) })).filter((s) => s.count > 0);
}

/** The id of the `n`th (1-based) device of a kind: `sim-wl-0001`. */
export function simDeviceId(prefix: string, kind: DeviceKind, n: number): string {
  return `${prefix}-${MODELS[kind].slug}-${String(n).padStart(4, '0')}`;
}

export function planFleet(city: City, specs: readonly FleetSpec[], prefix: string, rand: () => number): SimDevice[] {
  const index = new CityIndex(city);
  const devices: SimDevice[] = [];
  const numbered = new Map<DeviceKind, number>();
  for (const spec of specs) {
    const { kinds, tags } = MODELS[spec.kind].placeIn;
    const suitable = spec.zones
      ? city.zones.filter((z) => zoneMatches(z, spec.zones!))
      : city.zones.filter((z) => kinds?.includes(z.kind) || tags?.some((t) => z.tags.includes(t)));
    for (let i = 0; i < spec.count; i++) {
      const n = (numbered.get(spec.kind) ?? 0) + 1;
      numbered.set(spec.kind, n);
      const zone = suitable.length > 0 ? suitable[Math.floor(rand() * suitable.length)] : undefined;
      const area = zone ?? city.subcenters[Math.floor(rand() * city.subcenters.length)]!;
      const location = pointIn(index, area.geometry, zone?.id, rand);
      const place = index.place(location);
      devices.push({
        id: simDeviceId(prefix, spec.kind, n),
        kind: spec.kind,
        location,
        zoneId: zone?.id,
        zoneKind: zone?.kind,
        zoneTags: zone?.tags ?? [],
        zoneIds: place.zoneIds,
        subcenterId: place.subcenterId,
      });
    }
  }
  return devices;
}

/** A random point inside the geometry (and inside the zone, when one is given). */
function pointIn(index: CityIndex, geometry: City['zones'][number]['geometry'], zoneId: string | undefined, rand: () => number): Location {
  const ring = (geometry.type === 'Polygon' ? geometry.coordinates[0] : geometry.coordinates[0]![0])!;
  const xs = ring.map((p) => p[0]!);
  const ys = ring.map((p) => p[1]!);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  for (let tries = 0; tries < 100; tries++) {
    const loc = { lon: Number((x0 + rand() * (x1 - x0)).toFixed(6)), lat: Number((y0 + rand() * (y1 - y0)).toFixed(6)) };
    if (!zoneId || index.place(loc).zoneIds.includes(zoneId)) return loc;
  }
  return { lon: Number(((x0 + x1) / 2).toFixed(6)), lat: Number(((y0 + y1) / 2).toFixed(6)) };
}
