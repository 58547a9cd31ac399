import type { CityIndex } from '../city-index.js';
import type { Location } from '../schemas.js';

export interface Route {
  subcenterId: string;
  /** True when no jurisdiction contains the location and the district center takes it. */
  fallback: boolean;
}

/**
 * The unit responsible for a place: the sub-center whose jurisdiction contains it (on a border
 * shared by two, the lower id: see GeoIndex), else the district command center, flagged.
 */
export function routeLocation(index: CityIndex, loc: Location | undefined | null): Route {
  const owner = loc ? index.jurisdictions.owner(loc.lon, loc.lat) : undefined;
  return owner ? { subcenterId: owner.id, fallback: false } : { subcenterId: index.city.district.id, fallback: true };
}
