import { describe, expect, it } from 'vitest';
import { GradingTable } from '../city.js';
import { gradeTicket, higherGrade } from './grading.js';

const table = GradingTable.parse({
  zoneRisk: { high: 1 },
  aggregation: [
    { minDevices: 3, raise: 1 },
    { minAlerts: 10, raise: 1 },
    { minDevices: 10, raise: 2 },
  ],
  maxRaise: 2,
});

describe('grading', () => {
  it('keeps the rule grade when nothing raises it', () => {
    expect(gradeTicket({ base: 'C', zoneRisk: 'medium', devices: 1, alerts: 1 }, table)).toEqual({ grade: 'C', reasons: [] });
    expect(gradeTicket({ base: 'B', zoneRisk: undefined, devices: 2, alerts: 9 }, GradingTable.parse({}))).toEqual({ grade: 'B', reasons: [] });
  });

  it('raises by zone risk and by the largest aggregation row met', () => {
    expect(gradeTicket({ base: 'D', zoneRisk: 'high', devices: 1, alerts: 1 }, table)).toEqual({ grade: 'C', reasons: ['zone risk high: +1'] });
    expect(gradeTicket({ base: 'D', zoneRisk: 'low', devices: 3, alerts: 12 }, table)).toEqual({ grade: 'C', reasons: ['3 devices >= 3: +1'] });
    expect(gradeTicket({ base: 'D', zoneRisk: 'low', devices: 10, alerts: 12 }, table)).toEqual({ grade: 'B', reasons: ['10 devices >= 10: +2'] });
  });

  it('caps the raise at maxRaise and the grade at A', () => {
    expect(gradeTicket({ base: 'D', zoneRisk: 'high', devices: 10, alerts: 1 }, table)).toEqual({
      grade: 'B',
      reasons: ['zone risk high: +1', '10 devices >= 10: +2', 'capped at +2'],
    });
    expect(gradeTicket({ base: 'B', zoneRisk: 'high', devices: 3, alerts: 1 }, table).grade).toBe('A');
  });

  it('orders grades D < C < B < A', () => {
    expect(higherGrade('C', 'B')).toBe('B');
    expect(higherGrade('A', 'D')).toBe('A');
  });
});
