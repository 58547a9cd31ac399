import { describe, expect, it } from 'vitest';
import type { Zone } from '../core/city.js';
import { ruleZone, zoneMatches } from './zone-selector.js';

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
