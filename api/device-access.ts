import type { CityIndex } from '../core/city-index.js';
import type { Location } from '../core/schemas.js';

/**
 * Whether a unit sees a device at `location`: a sub-center the devices inside its jurisdiction,
 * a center those inside the jurisdictions it supervises, a community or grid those inside its
 * own area, and the district center also those outside every jurisdiction (the tickets they
 * raise are its own). `undefined`: everyone's view (the admin, the district's wall).
 */
export function unitSeesDevice(unitId: string | undefined, city: CityIndex, location: Location | null): boolean {
  if (unitId === undefined) return true;
  const owner = city.place(location).subcenterId;
  if (owner === undefined) return unitId === city.city.district.id;
  if (unitId === owner || unitId === city.subcenterById.get(owner)?.parent) return true;
  const local = city.localUnitById.get(unitId);
  if (!local || !location || local.subcenter !== owner) return false;
  return (local.level === 'grid' ? city.grids : city.communities).containing(location.lon, location.lat).some((a) => a.id === local.id);
}
