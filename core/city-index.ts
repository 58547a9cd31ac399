import type { City, LocalUnitArea, Subcenter, Zone } from './city.js';
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

/**
 * The spatial view of a city: which zones and which jurisdiction a point falls in, and below a
 * sub-center the community and grid (C and D tickets are held there).
 */
export class CityIndex extends CityPlaces {
  readonly communities: GeoIndex<LocalUnitArea>;
  readonly grids: GeoIndex<LocalUnitArea>;
  readonly localUnitById: ReadonlyMap<string, LocalUnitArea>;

  constructor(readonly city: City) {
    super(city.zones, city.subcenters);
    this.communities = new GeoIndex(city.communities);
    this.grids = new GeoIndex(city.grids);
    this.localUnitById = new Map([...city.communities, ...city.grids].map((u) => [u.id, u]));
  }
}
