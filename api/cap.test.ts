import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCity } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import type { Ticket } from '../core/schemas.js';
import { FIXTURE_CITY } from '../test/support/harness.js';
import { validateCap, xmllint } from '../test/support/tools.js';
import { CAP_SEVERITY, capAlert, capCategory, capCertainty, capTime, capUrgency } from './cap.js';

const T0 = Date.UTC(2026, 5, 1, 8);

function ticket(over: Partial<Ticket>): Ticket {
  return {
    id: 'SW-20260601-AAAAAA', grade: 'B', baseGrade: 'B', gradeReasons: [], category: 'flooding', department: 'water-affairs', subcenterId: 'north', routedToFallback: false,
    zoneId: null, ruleId: 'r', mergeKey: 'm', status: 'dispatched', title: '隧道积水', createdAt: T0, updatedAt: T0, dispatchedAt: T0, respondBy: T0 + 1_800_000, resolveBy: T0 + 43_200_000,
    respondedAt: null, resolvedAt: null, closedAt: null, closure: null, location: null, alerts: [], alertCount: 1, devices: ['d1'], firstSeen: T0, lastSeen: T0, reminders: [], overdue: [],
    red: false, supervisionOrderIds: [], timeline: [], version: 1, ...over,
  };
}

describe('CAP 1.2 mapping', () => {
  it('maps grades to severities and categories by their words, as docs/TICKETS.md tabulates', () => {
    expect(CAP_SEVERITY).toEqual({ A: 'Extreme', B: 'Severe', C: 'Moderate', D: 'Minor' });
    expect(['flooding', 'fire', 'gas-leak', 'manhole', 'air-quality', 'crowd', 'illegal-parking', 'device-fault', 'noise', 'something-else'].map(capCategory)).toEqual([
      'Met', 'Fire', 'CBRNE', 'Infra', 'Env', 'Safety', 'Transport', 'Infra', 'Env', 'Other',
    ]);
    expect([capUrgency({ status: 'dispatched', grade: 'A' }), capUrgency({ status: 'in_progress', grade: 'D' }), capUrgency({ status: 'resolved', grade: 'A' })]).toEqual(['Immediate', 'Expected', 'Past']);
    expect([capCertainty({ alertCount: 1, devices: ['a'] }), capCertainty({ alertCount: 3, devices: ['a'] }), capCertainty({ alertCount: 2, devices: ['a', 'b'] })]).toEqual(['Likely', 'Observed', 'Observed']);
    // CAP 1.2 §3.3.2: UTC as -00:00, never Z.
    expect(capTime(T0)).toBe('2026-06-01T08:00:00-00:00');
  });

  it.runIf(xmllint.run)('draws a circle around a located ticket without a zone, and the jurisdiction otherwise; both validate', () => {
    const index = new CityIndex(loadCity(path.resolve(FIXTURE_CITY)));
    const circle = capAlert(ticket({ location: { lat: 23.145, lon: 113.315 } }), index, { sender: 'sw.test' });
    expect(circle).toContain('<circle>23.145,113.315 0.5</circle>');
    expect(validateCap(circle).ok).toBe(true);
    const jurisdiction = capAlert(ticket({ grade: 'A', version: 4, updatedAt: T0 + 60_000 }), index, { sender: 'sw.test' });
    expect(jurisdiction).toMatch(/<areaDesc>北街道<\/areaDesc>\s*<polygon>[\d.]+,[\d.]+ /);
    expect(jurisdiction).toContain('<msgType>Update</msgType>');
    expect(jurisdiction).toContain('<severity>Extreme</severity>');
    expect(validateCap(jurisdiction).ok).toBe(true);
  });
});
