import { describe, expect, it } from 'vitest';
import type { Zone } from './city.js';
import { placeRule, ruleZone, withOverride, zoneMatches } from './zone-selector.js';

const geometry = { type: 'Polygon' as const, coordinates: [] };
const zone = (id: string, kind: string, risk: Zone['risk'], tags: string[] = []): Zone => ({ id, name: id, kind, risk, tags, geometry });
const underpass = zone('u1', 'underpass', 'high', ['flood']);
const school = zone('s1', 'school', 'medium', ['school', 'children']);
const market = zone('m1', 'market', 'low', ['crowd', 'gas']);

describe('zone selectors', () => {
  it('matches on every given field', () => {
    expect(zoneMatches(underpass, { kind: 'underpass' })).toBe(true);
    expect(zoneMatches(underpass, { kind: 'school' })).toBe(false);
    expect(zoneMatches(school, { tags: ['school', 'children'] })).toBe(true);
    expect(zoneMatches(school, { tags: ['school', 'flood'] })).toBe(false);
    expect(zoneMatches(market, { risk: ['low', 'medium'] })).toBe(true);
    expect(zoneMatches(market, { risk: 'high' })).toBe(false);
    expect(zoneMatches(market, { ids: ['m1'], kind: 'market' })).toBe(true);
    expect(zoneMatches(market, { ids: ['m1'], kind: 'school' })).toBe(false);
  });

  it('picks the riskiest matching zone, then the lowest id', () => {
    expect(ruleZone([market, school, underpass], undefined)?.id).toBe('u1');
    expect(ruleZone([market, school], { risk: ['low', 'medium'] })?.id).toBe('s1');
    expect(ruleZone([zone('b', 'x', 'high'), zone('a', 'x', 'high')], undefined)?.id).toBe('a');
  });

  it('tells "applies outside zones" (null) from "does not apply" (undefined)', () => {
    expect(ruleZone([], undefined)).toBeNull();
    expect(ruleZone([], { kind: 'underpass' })).toBeUndefined();
    expect(ruleZone([school], { kind: 'underpass' })).toBeUndefined();
  });
});

describe('rule placement with overrides', () => {
  const rule = {
    zones: { risk: ['high', 'medium'] as Zone['risk'][] },
    overrides: [
      { zones: { kind: 'school' }, above: 0.2 },
      { zones: { tags: ['flood'] }, above: 0.25 },
    ],
  };

  it('takes the first override that matches one of the zones, and places the alert there', () => {
    // In both a tunnel (riskier) and a school: the school override comes first in the file.
    expect(placeRule([underpass, school], rule)).toEqual({ zone: school, override: rule.overrides[0] });
    expect(placeRule([underpass], rule)).toEqual({ zone: underpass, override: rule.overrides[1] });
  });

  it('falls back to the rule itself, and to nothing where the rule does not apply', () => {
    expect(placeRule([zone('x', 'plaza', 'medium')], rule)?.override).toBeUndefined();
    // The market is low risk: outside the rule's selector, so its override cannot apply either.
    expect(placeRule([market], { ...rule, overrides: [{ zones: { kind: 'market' }, above: 1 }] })).toBeUndefined();
    expect(placeRule([], { overrides: rule.overrides })).toEqual({ zone: null, override: undefined });
  });

  it('replaces only the fields an override gives', () => {
    expect(withOverride({ above: 0.3, clearBelow: 0.2, grade: 'B' }, { zones: { kind: 'school' }, above: 0.25, grade: undefined })).toEqual({ above: 0.25, clearBelow: 0.2, grade: 'B' });
  });
});

