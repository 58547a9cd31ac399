import type { CityIndex } from '../city-index.js';
import type { Grade, Location } from '../schemas.js';

/**
 * Who holds tickets, from the top: the district command center, the street sub-centers (B and
 * A), the communities (C) and the grids (D) below them (GOVERNANCE.md: two levels of joint
 * handling, two of shared handling).
 */
export type UnitLevel = 'district' | 'subcenter' | 'community' | 'grid';

/** A unit that can hold tickets and receive them. */
export interface Unit {
  id: string;
  name: string;
  level: UnitLevel;
  /**
   * The center that supervises it, where its missed deadlines escalate and its extension
   * requests go: the district for a sub-center, the sub-center for a community or a grid
   * (the hub keeps seeing and supervising what it hands down); the district supervises itself.
   */
  parent: string;
  /** The sub-center it belongs to (itself for a sub-center; none for the district). */
  subcenter?: string;
  /** A grid's community. */
  community?: string;
  webhook?: string;
  secret?: string;
}

export function unitById(index: CityIndex, id: string): Unit | undefined {
  const sc = index.subcenterById.get(id);
  const district = index.city.district;
  if (sc) return { id: sc.id, name: sc.name, level: 'subcenter', parent: sc.parent ?? district.id, subcenter: sc.id, ...delivery(sc) };
  if (id === district.id) return { id: district.id, name: district.name, level: 'district', parent: district.id, ...delivery(district) };
  const local = index.localUnitById.get(id);
  if (local) {
    const unit: Unit = { id: local.id, name: local.name, level: local.level, parent: local.subcenter, subcenter: local.subcenter, ...delivery(local) };
    if (local.community !== undefined) unit.community = local.community;
    return unit;
  }
  return undefined;
}

/** The center a missed deadline escalates to. */
export function parentOf(index: CityIndex, id: string): string {
  return unitById(index, id)?.parent ?? index.city.district.id;
}

/**
 * The units whose tickets `id` sees besides its own: a sub-center sees its communities' and
 * grids', a community its grids'. (The district sees what it holds or supervises; the admin
 * sees everything.)
 */
export function unitsUnder(index: CityIndex, id: string): string[] {
  const out = [id];
  for (const u of [...index.city.communities, ...index.city.grids]) {
    if (u.subcenter === id || u.community === id) out.push(u.id);
  }
  return out;
}

/** Whether `above` sees what `unit` holds: itself, or its sub-center or community. */
export function isAbove(index: CityIndex, above: string, unit: string): boolean {
  if (above === unit) return true;
  const local = index.localUnitById.get(unit);
  return local !== undefined && (local.subcenter === above || local.community === above);
}

const LEVEL_RANK: Readonly<Record<UnitLevel, number>> = { grid: 0, community: 1, subcenter: 2, district: 3 };

/** The level that handles a grade: D the grid, C the community, B and A the street sub-center. */
export function levelForGrade(grade: Grade): UnitLevel {
  return grade === 'D' ? 'grid' : grade === 'C' ? 'community' : 'subcenter';
}

/**
 * The unit a new ticket of this grade goes to under a sub-center: for C the community
 * containing the place, for D the grid (else its community); the sub-center itself when none
 * is configured there. On a border shared by two, the lowest id (as for jurisdictions).
 */
export function localHolder(index: CityIndex, subcenterId: string, loc: Location | null, grade: Grade): string {
  const level = levelForGrade(grade);
  if (!loc || level === 'subcenter' || !index.subcenterById.has(subcenterId)) return subcenterId;
  const within = (u: { subcenter: string }): boolean => u.subcenter === subcenterId;
  if (level === 'grid') {
    const grid = index.grids.containing(loc.lon, loc.lat).find(within);
    if (grid) return grid.id;
  }
  return index.communities.containing(loc.lon, loc.lat).find(within)?.id ?? subcenterId;
}

/**
 * Where a ticket held below the level its (raised) grade needs goes up to: the grid's
 * community for C, the sub-center for B and A. Undefined when the holder's level suffices.
 */
export function holderForRaise(index: CityIndex, holder: string, grade: Grade): string | undefined {
  const unit = unitById(index, holder);
  if (!unit || LEVEL_RANK[unit.level] >= LEVEL_RANK[levelForGrade(grade)]) return undefined;
  if (levelForGrade(grade) === 'community' && unit.community !== undefined) return unit.community;
  return unit.subcenter;
}

function delivery(u: { webhook?: string | undefined; secret?: string | undefined }): { webhook?: string; secret?: string } {
  return u.webhook !== undefined && u.secret !== undefined ? { webhook: u.webhook, secret: u.secret } : {};
}
