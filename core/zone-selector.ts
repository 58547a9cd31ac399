import type { Zone } from './city.js';
import type { ZoneRisk, ZoneSelector } from './rules.js';

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

/** The zones among `zones` a rule's selector accepts (all of them without a selector). */
export function selectedZones(zones: readonly Zone[], selector: ZoneSelector | undefined): Zone[] {
  return selector ? zones.filter((z) => zoneMatches(z, selector)) : [...zones];
}

export interface Placement<O> {
  /** The zone the alert belongs to; null outside every zone. */
  zone: Zone | null;
  /** The per-zone override that applies, if any. */
  override: O | undefined;
}

/**
 * Where a rule applies to something located in `zones`, and with which override: the first
 * override (in file order) whose selector accepts one of the zones the rule accepts wins, and
 * the alert goes to the riskiest such zone; without one, the rule's own zone (see `ruleZone`).
 * `undefined` when the rule does not apply there.
 */
export function placeRule<O extends { zones: ZoneSelector }>(
  zones: readonly Zone[],
  rule: { zones?: ZoneSelector | undefined; overrides?: readonly O[] | undefined },
): Placement<O> | undefined {
  const zone = ruleZone(zones, rule.zones);
  if (zone === undefined) return undefined;
  if (zone !== null && rule.overrides?.length) {
    const candidates = selectedZones(zones, rule.zones);
    for (const override of rule.overrides) {
      const hit = ruleZone(candidates, override.zones);
      if (hit) return { zone: hit, override };
    }
  }
  return { zone, override: undefined };
}

/** A rule's settings with an override's given fields in place of its own. */
export function withOverride<R extends object, O extends object>(rule: R, override: O | undefined): R {
  if (!override) return rule;
  const merged: Record<string, unknown> = { ...(rule as Record<string, unknown>) };
  for (const [k, v] of Object.entries(override)) if (v !== undefined && k !== 'zones') merged[k] = v;
  return merged as R;
}
