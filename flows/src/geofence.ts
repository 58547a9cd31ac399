/**
 * The geofence node's logic: where a located message falls, by the platform's own placement
 * (CityPlaces, as ingest places readings) and zone choice (ruleZone, as the detectors pick the
 * zone a rule fires in: the riskiest matching zone, then the lowest id).
 */
import type { Zone } from '../../core/city.js';
import { ZoneSelector } from '../../core/rules.js';
import type { Location } from '../../core/schemas.js';
import { Location as LocationSchema } from '../../core/schemas.js';
import { describeZodError } from '../../core/zod-issues.js';
import { ruleZone } from '../../core/zone-selector.js';
import type { CityView } from './city-view.js';

export interface GeofenceTag {
  /** The zone the message belongs to under the selector; null when it is in none that matches. */
  zone: { id: string; name: string; kind: string; risk: string; tags: string[] } | null;
  /** Every risk zone containing the location, ordered by id. */
  zoneIds: string[];
  /** The sub-center whose jurisdiction contains the location; null outside every jurisdiction. */
  subcenter: { id: string; name: string } | null;
}

/** What the editor gives: comma lists and single values, any of them empty. */
export interface GeofenceSettingsInput {
  zoneIds?: string;
  kind?: string;
  tags?: string;
  risk?: string;
}

const list = (s: string | undefined): string[] | undefined => {
  const items = (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
};

/** The zone selector of the node's settings, validated as a rule's; undefined when no field is set. */
export function parseZoneSelector(input: GeofenceSettingsInput): ZoneSelector | undefined {
  const candidate: Record<string, unknown> = {};
  const ids = list(input.zoneIds);
  const tags = list(input.tags);
  const risk = list(input.risk);
  if (ids) candidate.ids = ids;
  if (input.kind?.trim()) candidate.kind = input.kind.trim();
  if (tags) candidate.tags = tags;
  if (risk) candidate.risk = risk;
  if (Object.keys(candidate).length === 0) return undefined;
  const parsed = ZoneSelector.safeParse(candidate);
  if (!parsed.success) throw new Error(`zone selector: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** A message's location: `{lat, lon}`, checked like a device's. */
export function parseLocation(value: unknown): Location | undefined {
  const parsed = LocationSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Tags a location with its zone and sub-center. With a selector, `zone` is the riskiest
 * containing zone the selector accepts (null if none does); without, the riskiest containing zone.
 */
export function geofence(city: CityView, loc: Location, selector: ZoneSelector | undefined): GeofenceTag {
  const placement = city.places.place(loc);
  const zones = city.zonesOf(placement.zoneIds);
  const zone: Zone | null = ruleZone(zones, selector) ?? null;
  const subcenter = placement.subcenterId !== undefined ? city.places.subcenterById.get(placement.subcenterId) : undefined;
  return {
    zone: zone && { id: zone.id, name: zone.name, kind: zone.kind, risk: zone.risk, tags: [...zone.tags] },
    zoneIds: placement.zoneIds,
    subcenter: subcenter ? { id: subcenter.id, name: subcenter.name } : null,
  };
}
