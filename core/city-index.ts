import type { City, Subcenter, Zone } from './city.js';
import { GeoIndex } from './geo-index.js';
import type { Location } from './schemas.js';

export interface Placement {
  /** Risk zones containing the point, ordered by id. */
  zoneIds: string[];
  /** The sub-center whose jurisdiction contains the point (lowest id on a shared border). */
  subcenterId: string | undefined;
}

/** The spatial view of a city: which zones and which jurisdiction a point falls in. */
export class CityIndex {
  readonly zones: GeoIndex<Zone>;
  readonly jurisdictions: GeoIndex<Subcenter>;
  readonly zoneById: ReadonlyMap<string, Zone>;
  readonly subcenterById: ReadonlyMap<string, Subcenter>;

  constructor(readonly city: City) {
    this.zones = new GeoIndex(city.zones);
    this.jurisdictions = new GeoIndex(city.subcenters);
    this.zoneById = new Map(city.zones.map((z) => [z.id, z]));
    this.subcenterById = new Map(city.subcenters.map((s) => [s.id, s]));
  }

  place(loc: Location | undefined | null): Placement {
    if (!loc) return { zoneIds: [], subcenterId: undefined };
    return {
      zoneIds: this.zones.containing(loc.lon, loc.lat).map((z) => z.id),
      subcenterId: this.jurisdictions.owner(loc.lon, loc.lat)?.id,
    };
  }
}
