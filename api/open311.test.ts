import { describe, expect, it } from 'vitest';
import { loadCity } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import { FIXTURE_CITY } from '../test/support/harness.js';
import { sampleTicket } from '../test/contract/state.contract.js';
import { open311Body, open311Request, open311Services } from './open311.js';

const index = new CityIndex(loadCity(FIXTURE_CITY));

describe('Open311 mapping', () => {
  it('maps a closed ticket: status closed, updated_datetime the closing time', () => {
    const t = sampleTicket({ id: 'SW-1', subcenterId: 'north', zoneId: 'north-tunnel', status: 'closed', createdAt: Date.UTC(2026, 0, 1), updatedAt: Date.UTC(2026, 0, 3), closedAt: Date.UTC(2026, 0, 2, 8, 30, 15, 500), resolveBy: Date.UTC(2026, 0, 1, 12) });
    expect(open311Request(t, index)).toMatchObject({
      service_request_id: 'SW-1',
      status: 'closed',
      status_notes: '已结案 (closed)',
      requested_datetime: '2026-01-01T00:00:00Z',
      updated_datetime: '2026-01-02T08:30:15Z',
      expected_datetime: '2026-01-01T12:00:00Z',
      agency_responsible: '北街道 / 水务',
      address: '北隧道, 北街道',
    });
  });

  it('names unknown units and departments by id, and has no address without a zone or unit name', () => {
    const t = sampleTicket({ subcenterId: 'gone', department: 'other', zoneId: null, location: null });
    expect(open311Request(t, index)).toMatchObject({ agency_responsible: 'gone / other', address: null, lat: null, long: null });
  });

  it('lists categories as services, and rule categories the city does not name', () => {
    expect(open311Services(index).map((s) => [s.service_code, s.service_name, s.group])).toEqual([
      ['fire', '火情烟雾', '消防救援'],
      ['flooding', '内涝积水', '水务'],
    ]);
  });

  it('escapes text in XML', () => {
    expect(open311Body('xml', 'errors', 'error', [{ code: 400, description: 'a < b & c' }])).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><errors><error><code>400</code><description>a &lt; b &amp; c</description></error></errors>',
    );
  });
});
