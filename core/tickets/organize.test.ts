import { describe, expect, it } from 'vitest';
import { IN_SOUTH_COMMUNITY, IN_SOUTH_GRID, IN_TUNNEL, governanceCity } from '../../test/support/governance.js';
import { CityIndex } from '../city-index.js';
import { loadCity } from '../city.js';
import type { Alert, Grade, Location } from '../schemas.js';
import { mergeFiring, ticketFromAlert } from './lifecycle.js';
import { organize } from './organize.js';
import { routeLocation } from './routing.js';
import { holderForRaise, isAbove, localHolder, parentOf, unitById, unitsUnder } from './units.js';

const index = new CityIndex(loadCity(governanceCity()));
const sla = index.city.sla;
const T0 = 5_000_000;

const alert = (n: number, loc: Location, grade: Grade, over: Partial<Alert> = {}): Alert => ({
  id: `r/d${n}@${T0}:firing`,
  fingerprint: `r/d${n}`,
  status: 'firing',
  ruleId: 'r',
  deviceId: `d${n}`,
  metric: 'smoke',
  value: 20,
  grade,
  category: 'fire',
  department: 'fire-rescue',
  loc,
  ts: T0,
  startsAt: T0,
  summary: 's',
  ...over,
});

const opened = (a: Alert) => {
  const ticket = ticketFromAlert(a, { id: 'SW-O', now: T0, route: routeLocation(index, a.loc), department: a.department, sla, zoneRisk: a.zoneId ? index.zoneById.get(a.zoneId)?.risk : undefined, title: 't' });
  return organize(ticket, index, T0, true);
};

describe('units below the sub-centers', () => {
  it('knows communities and grids as units supervised by their sub-center', () => {
    expect(unitById(index, 'south-east')).toMatchObject({ level: 'community', parent: 'south', subcenter: 'south' });
    expect(unitById(index, 'south-east-1')).toMatchObject({ level: 'grid', parent: 'south', subcenter: 'south', community: 'south-east' });
    expect(unitById(index, 'south')).toMatchObject({ level: 'subcenter', parent: 'test-district' });
    expect(parentOf(index, 'south-east-1')).toBe('south');
    expect(unitsUnder(index, 'south')).toEqual(['south', 'south-east', 'south-east-1']);
    expect(unitsUnder(index, 'south-east')).toEqual(['south-east', 'south-east-1']);
    expect(isAbove(index, 'south', 'south-east-1')).toBe(true);
    expect(isAbove(index, 'north', 'south-east-1')).toBe(false);
    expect(isAbove(index, 'test-district', 'south')).toBe(false);
  });

  it('hands C down to the community and D to the grid containing the place, else one level up', () => {
    expect(localHolder(index, 'south', IN_SOUTH_GRID, 'C')).toBe('south-east');
    expect(localHolder(index, 'south', IN_SOUTH_GRID, 'D')).toBe('south-east-1');
    expect(localHolder(index, 'south', IN_SOUTH_COMMUNITY, 'D')).toBe('south-east');
    expect(localHolder(index, 'south', IN_SOUTH_GRID, 'B')).toBe('south');
    expect(localHolder(index, 'south', { lat: 23.115, lon: 113.305 }, 'D')).toBe('south');
    expect(holderForRaise(index, 'south-east-1', 'C')).toBe('south-east');
    expect(holderForRaise(index, 'south-east-1', 'B')).toBe('south');
    expect(holderForRaise(index, 'south-east', 'C')).toBeUndefined();
    expect(holderForRaise(index, 'south', 'A')).toBeUndefined();
  });
});

describe('organize: the holder follows the grade, the plan is put in force', () => {
  it('opens a C ticket at the community and a D ticket at the grid, the dispatch saying so', () => {
    const c = opened(alert(1, IN_SOUTH_GRID, 'C')).ticket;
    expect(c).toMatchObject({ subcenterId: 'south-east', holders: ['south-east'] });
    expect(c.timeline.find((e) => e.action === 'dispatched')?.note).toBe('routed to south-east (community of south, grade C), department fire-rescue');
    expect(opened(alert(2, IN_SOUTH_GRID, 'D')).ticket.subcenterId).toBe('south-east-1');
    expect(opened(alert(3, IN_SOUTH_GRID, 'B')).ticket.subcenterId).toBe('south');
  });

  it('moves a ticket up when a storm raises its grade past its holder, re-dispatched with a reason', () => {
    let t = opened(alert(1, IN_SOUTH_GRID, 'D')).ticket;
    // Three devices raise D to C (the fixture's aggregation row): up to the community.
    for (const n of [2, 3]) {
      const merged = mergeFiring(t, alert(n, IN_SOUTH_GRID, 'D'), T0 + n * 1000, { sla, zoneRisk: undefined })!.ticket;
      const o = organize(merged, index, T0 + n * 1000, false);
      t = o.ticket;
      if (n === 3) expect(o.movedFrom).toBe('south-east-1');
    }
    expect(t).toMatchObject({ grade: 'C', subcenterId: 'south-east', status: 'dispatched', dispatchedAt: T0 + 3000, holders: ['south-east-1', 'south-east'] });
    expect(t.timeline.at(-1)).toMatchObject({ actor: 'system', action: 'reassigned', note: 'south-east-1 → south-east: grade C is handled by the community' });
  });

  it('puts the flood plan in force when a flood opens as A in the high-risk tunnel', () => {
    const o = opened(alert(1, IN_TUNNEL, 'B', { category: 'flooding', department: 'water-affairs', zoneId: 'north-tunnel', metric: 'water_level' }));
    expect(o.ticket).toMatchObject({ grade: 'A', subcenterId: 'north', department: 'emergency-management' });
    expect(o.summoned).toEqual(['water-affairs', 'traffic-police', 'city-management']);
    // The rule's department never led it: it co-handles, and the returns KPI does not count it as a lead.
    expect(o.ticket.leads).toEqual(['emergency-management']);
  });
});
