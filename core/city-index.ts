import type { City, Subcenter, Zone } from './city.js';
import { GeoIndex } from './geo-index.js';
import type { Location } from './schemas.js';

export interface Placement {
  /** Risk zones containing the point, ordered by id. */
  zoneIds: string[];
  /** The sub-center whose jurisdiction contains the point (lowest id on a shared border). */
  subcenterId: string | undefined;
}

/**
 * Which zones and which jurisdiction a point falls in. Needs only the places, so the geofence of
 * operators' flows (Node-RED) places points exactly as ingest does, from the city the platform
 * publishes to them.
 */
export class CityPlaces {
  readonly zones: GeoIndex<Zone>;
  readonly jurisdictions: GeoIndex<Subcenter>;
  readonly zoneById: ReadonlyMap<string, Zone>;
  readonly subcenterById: ReadonlyMap<string, Subcenter>;

  constructor(zones: readonly Zone[], subcenters: readonly Subcenter[]) {
    this.zones = new GeoIndex(zones);
    this.jurisdictions = new GeoIndex(subcenters);
    this.zoneById = new Map(zones.map((z) => [z.id, z]));
    this.subcenterById = new Map(subcenters.map((s) => [s.id, s]));
  }

  place(loc: Location | undefined | null): Placement {
    if (!loc) return { zoneIds: [], subcenterId: undefined };
    return {
      zoneIds: this.zones.containing(loc.lon, loc.lat).map((z) => z.id),
      subcenterId: this.jurisdictions.owner(loc.lon, loc.lat)?.id,
    };
  }
}

/** The spatial view of a city: which zones and which jurisdiction a point falls in. */
export class CityIndex extends CityPlaces {
  constructor(readonly city: City) {
    super(city.zones, city.subcenters);
  }
}
