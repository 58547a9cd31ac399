import type { Zone, ZoneRisk, ZoneSelector } from '../core/city.js';

const RISK_ORDER: Record<ZoneRisk, number> = { high: 0, medium: 1, low: 2 };

/**
 * A zone matches a selector when it satisfies every field given: its id is listed, its kind
 * is the kind, it carries all the tags, its risk is (one of) the risk.
 */
export function zoneMatches(zone: Zone, selector: ZoneSelector): boolean {
  if (selector.ids && !selector.ids.includes(zone.id)) return false;
  if (selector.kind !== undefined && zone.kind !== selector.kind) return false;
  if (selector.tags && !selector.tags.every((t) => zone.tags.includes(t))) return false;
  if (selector.risk !== undefined) {
    const risks = Array.isArray(selector.risk) ? selector.risk : [selector.risk];
    if (!risks.includes(zone.risk)) return false;
  }
  return true;
}

/**
 * The zone a rule fires in, for a reading located in `zones`: among the zones the selector
 * accepts (all of them without a selector), the riskiest, then the lowest id. `null` when the
 * rule has no selector and the reading is in no zone; `undefined` when the rule does not apply.
 */
export function ruleZone(zones: readonly Zone[], selector: ZoneSelector | undefined): Zone | null | undefined {
  const candidates = selector ? zones.filter((z) => zoneMatches(z, selector)) : zones;
  if (candidates.length === 0) return selector ? undefined : null;
  return candidates.reduce((best, z) =>
    RISK_ORDER[z.risk] < RISK_ORDER[best.risk] || (RISK_ORDER[z.risk] === RISK_ORDER[best.risk] && z.id < best.id) ? z : best,
  );
}
