import { describe, expect, it } from 'vitest';
import { groupRates, kpiRows, whistleCounts } from './kpis.js';
import { moved, T0, ticket } from './test-tickets.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('KPIs computed from tickets', () => {
  const now = T0 + 24 * HOUR;
  const onTime = moved(moved(ticket({ id: 'on-time' }), 'acknowledged', T0 + 10 * MIN), 'resolved', T0 + 2 * HOUR);
  const lateResponse = moved(ticket({ id: 'late' }), 'acknowledged', T0 + 45 * MIN);
  const notDueYet = ticket({ id: 'new', createdAt: now - MIN, respondBy: now + 29 * MIN, resolveBy: now + 12 * HOUR });
  const south = ticket({ id: 'south', subcenterId: 'south', grade: 'C' });

  it('rates timeliness over the deadlines that are due or met, per sub-center and grade', () => {
    const rows = kpiRows([onTime, lateResponse, notDueYet, south], now);
    expect(rows).toEqual([
      { subcenterId: 'north', grade: 'B', tickets: 3, responseDue: 2, respondedInTime: 1, resolutionDue: 2, resolvedInTime: 1, responseRate: 0.5, handlingRate: 0.5 },
      { subcenterId: 'south', grade: 'C', tickets: 1, responseDue: 1, respondedInTime: 0, resolutionDue: 1, resolvedInTime: 0, responseRate: 0, handlingRate: 0 },
    ]);
  });

  it('has no rate where nothing is due yet', () => {
    expect(kpiRows([notDueYet], now)[0]).toMatchObject({ responseRate: null, handlingRate: null });
  });

  it('folds rows by one dimension from the counts, not by averaging rates', () => {
    const rows = kpiRows([onTime, lateResponse, south], now);
    expect(groupRates(rows, 'grade')).toEqual([
      { key: 'B', tickets: 2, responseRate: 0.5, handlingRate: 0.5 },
      { key: 'C', tickets: 1, responseRate: 0, handlingRate: 0 },
    ]);
    expect(groupRates([...rows, { ...rows[1]!, grade: 'B' }], 'subcenterId').map((g) => [g.key, g.tickets])).toEqual([
      ['north', 2],
      ['south', 2],
    ]);
  });

  it('counts whistles per category and zone', () => {
    const outside = ticket({ id: 'x', zoneId: null, category: 'fire' });
    const w = whistleCounts([onTime, south, outside]);
    expect([...w.byCategory]).toEqual([
      ['flooding', 2],
      ['fire', 1],
    ]);
    expect([...w.byZone]).toEqual([
      ['north-tunnel', 2],
      ['', 1],
    ]);
  });
});
