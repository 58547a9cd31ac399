import type { CityIndex } from '../city-index.js';

/** A unit that can hold tickets and receive them: a street sub-center or the district command center. */
export interface Unit {
  id: string;
  name: string;
  /** The center that supervises it; the district supervises itself. */
  parent: string;
  webhook?: string;
  secret?: string;
}

export function unitById(index: CityIndex, id: string): Unit | undefined {
  const sc = index.subcenterById.get(id);
  const district = index.city.district;
  if (sc) return { id: sc.id, name: sc.name, parent: sc.parent ?? district.id, ...delivery(sc) };
  if (id === district.id) return { id: district.id, name: district.name, parent: district.id, ...delivery(district) };
  return undefined;
}

/** The center a missed deadline escalates to. */
export function parentOf(index: CityIndex, id: string): string {
  return unitById(index, id)?.parent ?? index.city.district.id;
}

function delivery(u: { webhook?: string | undefined; secret?: string | undefined }): { webhook?: string; secret?: string } {
  return u.webhook !== undefined && u.secret !== undefined ? { webhook: u.webhook, secret: u.secret } : {};
}
