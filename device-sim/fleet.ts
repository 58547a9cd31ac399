/**
 * A simulated fleet: devices placed inside the city's zones, provisioned through the API, each
 * publishing its model's telemetry over MQTT.
 */
import type { City } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import type { Location } from '../core/schemas.js';
import { KINDS, MODELS, type DeviceKind } from './models.js';

export interface SimDevice {
  id: string;
  kind: DeviceKind;
  location: Location;
  zoneId: string | undefined;
}

/** `count` devices cycling through the kinds, each placed in a zone that suits it. */
export function planFleet(city: City, count: number, prefix: string, rand: () => number): SimDevice[] {
  const index = new CityIndex(city);
  const devices: SimDevice[] = [];
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const { kinds, tags } = MODELS[kind].placeIn;
    const suitable = city.zones.filter((z) => kinds?.includes(z.kind) || tags?.some((t) => z.tags.includes(t)));
    const zones = suitable.length ? suitable : city.zones;
    const zone = zones[Math.floor(rand() * zones.length)];
    const location = zone ? pointIn(index, zone.geometry, zone.id, rand) : pointIn(index, city.subcenters[0]!.geometry, undefined, rand);
    devices.push({ id: `${prefix}-${kind.replaceAll('_', '')}-${String(i + 1).padStart(4, '0')}`, kind, location, zoneId: zone?.id });
  }
  return devices;
}

function pointIn(index: CityIndex, geometry: City['zones'][number]['geometry'], zoneId: string | undefined, rand: () => number): Location {
  const ring = (geometry.type === 'Polygon' ? geometry.coordinates[0] : geometry.coordinates[0]![0])!;
  const xs = ring.map((p) => p[0]!);
  const ys = ring.map((p) => p[1]!);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  for (let tries = 0; tries < 100; tries++) {
    const loc = { lon: Number((x0 + rand() * (x1 - x0)).toFixed(6)), lat: Number((y0 + rand() * (y1 - y0)).toFixed(6)) };
    if (!zoneId || index.place(loc).zoneIds.includes(zoneId)) return loc;
  }
  return { lon: (x0 + x1) / 2, lat: (y0 + y1) / 2 };
}
