/**
 * A small city for rule tests: four risk zones side by side (a tunnel, a school, a market and
 * a chemical plant) in two sub-centers, with the rules given, validated by the real schema.
 */
import type { Polygon } from 'geojson';
import { SlaFile, type City, type Subcenter, type Zone } from '../../core/city.js';
import { CityIndex } from '../../core/city-index.js';
import { RulesFile } from '../../core/rules.js';
import type { Location, Reading } from '../../core/schemas.js';

const square = (lon: number, lat: number, size: number): Polygon => ({
  type: 'Polygon',
  coordinates: [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
});

export const RULE_CITY_ZONES: Zone[] = [
  { id: 'tunnel', name: '隧道', kind: 'underpass', risk: 'high', tags: ['flood'], geometry: square(113.31, 23.14, 0.01) },
  { id: 'school', name: '学校', kind: 'school', risk: 'medium', tags: ['school', 'children'], geometry: square(113.33, 23.14, 0.01) },
  { id: 'market', name: '市场', kind: 'market', risk: 'medium', tags: ['crowd', 'gas'], geometry: square(113.31, 23.11, 0.01) },
  { id: 'plant', name: '化工厂', kind: 'chemical', risk: 'high', tags: ['hazmat', 'gas'], geometry: square(113.33, 23.11, 0.01) },
];

/** A point inside each zone, and one outside them all. */
export const IN: Record<'tunnel' | 'school' | 'market' | 'plant' | 'nowhere', Location> = {
  tunnel: { lat: 23.145, lon: 113.315 },
  school: { lat: 23.145, lon: 113.335 },
  market: { lat: 23.115, lon: 113.315 },
  plant: { lat: 23.115, lon: 113.335 },
  nowhere: { lat: 23.125, lon: 113.325 },
};

const SUBCENTERS: Subcenter[] = [
  { id: 'north', name: '北', geometry: { type: 'Polygon', coordinates: [[[113.3, 23.13], [113.35, 23.13], [113.35, 23.16], [113.3, 23.16], [113.3, 23.13]]] } },
  { id: 'south', name: '南', geometry: { type: 'Polygon', coordinates: [[[113.3, 23.1], [113.35, 23.1], [113.35, 23.13], [113.3, 23.13], [113.3, 23.1]]] } },
];

const SLA = { respondWithin: '1m', resolveWithin: '10m', remindBefore: '10s' };

export function ruleCity(rules: unknown[]): CityIndex {
  const city: City = {
    dir: '/nonexistent',
    name: 'rule test city',
    district: { id: 'district', name: '区' },
    departments: new Map(),
    categories: new Map(),
    subcenters: SUBCENTERS,
    zones: RULE_CITY_ZONES,
    rules: RulesFile.parse({ rules }).rules,
    sla: SlaFile.parse({ grades: { A: SLA, B: SLA, C: SLA, D: SLA } }),
    responsePlans: new Map(),
    communities: [],
    grids: [],
  };
  return new CityIndex(city);
}

let refs = 0;
/** A reading placed the way ingest places it. */
export function placedReading(index: CityIndex, deviceId: string, metric: string, value: number, ts: number, loc: Location, receivedAt = ts): Reading {
  const place = index.place(loc);
  const r: Reading = { deviceId, metric, value, ts, receivedAt, loc, zoneIds: place.zoneIds, ref: `ref-${refs++}` };
  if (place.subcenterId !== undefined) r.subcenterId = place.subcenterId;
  return r;
}
