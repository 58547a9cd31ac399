import { describe, expect, it } from 'vitest';
import { loadCity } from '../../core/city.js';
import { CityIndex } from '../../core/city-index.js';
import { operatorCity } from '../../broker/operator-bridge.js';
import { FIXTURE_CITY } from '../../test/support/harness.js';
import { operatorAlertFrom } from './alert.js';
import { parseCity } from './city-view.js';
import { eventsFilter, inZones, readingsFilter, ticketsFilter } from './feeds.js';
import { geofence, parseZoneSelector } from './geofence.js';
import { ThresholdTracker, parseThresholdSettings } from './threshold.js';
import { topicMatches } from './topic-filter.js';

const city = parseCity(JSON.stringify(operatorCity(new CityIndex(loadCity(FIXTURE_CITY)))));
const IN_SCHOOL = { lat: 23.115, lon: 113.315 };
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const MIN = 60_000;

describe('threshold settings', () => {
  it('reads the editor fields as a rule would', () => {
    expect(parseThresholdSettings({ above: '55', clearBelow: '50', for: '5m' })).toEqual({ above: 55, below: undefined, clearBelow: 50, clearAbove: undefined, for: 5 * MIN, consecutive: 1 });
    expect(parseThresholdSettings({ above: '55', consecutive: '3' })).toMatchObject({ for: 0, consecutive: 3 });
    expect(parseThresholdSettings({ below: 3.3, above: '' })).toMatchObject({ below: 3.3, for: 0 });
  });

  it.each([
    [{}, 'above: a threshold needs "above" or "below"'],
    [{ above: '5', consecutive: '0' }, 'consecutive'],
    [{ above: '5', clearBelow: '6' }, 'clearBelow'],
    [{ above: 'high' }, 'above'],
    [{ above: '5', for: 'a while' }, 'for: "a while" is not a duration'],
  ])('names the field that is wrong: %j', (input, message) => {
    expect(() => parseThresholdSettings(input)).toThrow(message);
  });
});

describe('threshold tracker', () => {
  it('fires after the duration by event time, holds in the hysteresis band, and resolves below it', () => {
    const t = new ThresholdTracker(parseThresholdSettings({ above: '55', clearBelow: '50', for: '5m' }));
    expect(t.evaluate('nz-1', 60, 0)).toBeUndefined();
    expect(t.evaluate('nz-2', 70, 1 * MIN)).toBeUndefined();
    expect(t.counts()).toEqual({ pending: 2, firing: 0 });
    expect(t.evaluate('nz-1', 61, 5 * MIN)).toEqual({ status: 'firing', startsAt: 0, bound: 55, value: 61, ts: 5 * MIN });
    expect(t.evaluate('nz-1', 52, 6 * MIN)).toBeUndefined();
    expect(t.evaluate('nz-1', 70, 5.5 * MIN)).toBeUndefined();
    expect(t.evaluate('nz-1', 49, 7 * MIN)).toEqual({ status: 'resolved', startsAt: 0, bound: 55, value: 49, ts: 7 * MIN });
    expect(t.evaluate('nz-2', 40, 2 * MIN)).toBeUndefined();
    expect(t.counts()).toEqual({ pending: 0, firing: 0 });
  });

  it('waits for readings in a row when asked to', () => {
    const t = new ThresholdTracker(parseThresholdSettings({ above: '0.3', consecutive: '3' }));
    expect(t.evaluate('wl', 0.5, 1000)).toBeUndefined();
    expect(t.evaluate('wl', 0.5, 2000)).toBeUndefined();
    expect(t.evaluate('wl', 0.5, 3000)).toMatchObject({ status: 'firing', startsAt: 1000 });
  });

  it('picks up where saved state left off', () => {
    const settings = parseThresholdSettings({ above: '0.3' });
    const a = new ThresholdTracker(settings);
    a.evaluate('wl', 0.5, 1000);
    const b = new ThresholdTracker(settings, a.entries());
    expect(b.counts()).toEqual({ pending: 0, firing: 1 });
    expect(b.evaluate('wl', 0.1, 2000)).toMatchObject({ status: 'resolved', startsAt: 1000 });
  });
});

describe('geofence', () => {
  it('tags a location with its riskiest zone and its jurisdiction, as ingest and the detectors would', () => {
    expect(geofence(city, IN_SCHOOL, undefined)).toEqual({
      zone: { id: 'south-school', name: '南小学', kind: 'school', risk: 'medium', tags: ['school'] },
      zoneIds: ['south-school'],
      subcenter: { id: 'south', name: '南街道' },
    });
    expect(geofence(city, IN_TUNNEL, parseZoneSelector({ kind: 'school' }))).toMatchObject({ zone: null, zoneIds: ['north-tunnel'], subcenter: { id: 'north' } });
    expect(geofence(city, { lat: 40, lon: 116 }, undefined)).toEqual({ zone: null, zoneIds: [], subcenter: null });
  });

  it('validates the zone selector like a rule\'s', () => {
    expect(parseZoneSelector({ kind: ' school ', tags: 'a, b', risk: 'high,medium' })).toEqual({ kind: 'school', tags: ['a', 'b'], risk: ['high', 'medium'] });
    expect(parseZoneSelector({})).toBeUndefined();
    expect(() => parseZoneSelector({ risk: 'extreme' })).toThrow(/zone selector: risk/);
  });
});

describe('feeds', () => {
  it('puts metric, event type, device and unit in the topic, and zones in a filter', () => {
    expect(readingsFilter({ kindOf: 'noise' })).toEqual({ topic: 'v1/operators/readings/noise/+', zones: undefined });
    expect(readingsFilter({ device: 'nz-1', kind: 'school' })).toEqual({ topic: 'v1/operators/readings/+/nz-1', zones: { kind: 'school' } });
    expect(eventsFilter({ kindOf: 'fire' }).topic).toBe('v1/operators/events/fire/+');
    expect(ticketsFilter({ unit: 'north', events: 'ticket.created, ticket.overdue' })).toEqual({ topic: 'v1/operators/tickets/north', events: new Set(['ticket.created', 'ticket.overdue']) });
    expect(() => readingsFilter({ kindOf: 'Noise/#' })).toThrow(/metric/);
    expect(() => ticketsFilter({ events: 'ticket.exploded' })).toThrow(/unknown ticket event/);
  });

  it('lets through what lies in a matching zone', () => {
    expect(inZones(city, { zoneIds: ['south-school'] }, { kind: 'school' })).toBe(true);
    expect(inZones(city, { zoneIds: ['north-tunnel'] }, { kind: 'school' })).toBe(false);
    expect(inZones(city, { zoneIds: [] }, undefined)).toBe(true);
    expect(inZones(undefined, { zoneIds: ['south-school'] }, { kind: 'school' })).toBe(false);
  });

  it('matches topics level by level', () => {
    expect(topicMatches('v1/operators/readings/+/nz-1', 'v1/operators/readings/noise/nz-1')).toBe(true);
    expect(topicMatches('v1/operators/readings/#', 'v1/operators/readings/noise/nz-1')).toBe(true);
    expect(topicMatches('v1/operators/readings/#', 'v1/operators/readings')).toBe(true);
    expect(topicMatches('v1/operators/readings/+', 'v1/operators/readings/noise/nz-1')).toBe(false);
    expect(topicMatches('v1/operators/readings/noise/+', 'v1/operators/readings/rainfall/nz-1')).toBe(false);
  });
});

describe('alert from a message', () => {
  const reading = { deviceId: 'nz-1', metric: 'noise', value: 70, ts: 1_780_000_000_000, loc: IN_SCHOOL, zoneIds: ['south-school'] };
  const settings = { ruleId: 'school-noise-night', grade: 'C', category: 'fire' };

  it('takes the reading, the threshold transition and the zone, with msg.alert over them', () => {
    const alert = operatorAlertFrom({ payload: reading, threshold: { status: 'firing', startsAt: 1_779_999_700_000, bound: 55 }, zone: { id: 'south-school' } }, settings, 'm1');
    expect(alert).toEqual({ ...settings, deviceId: 'nz-1', metric: 'noise', value: 70, ts: reading.ts, loc: IN_SCHOOL, status: 'firing', startsAt: 1_779_999_700_000, threshold: 55, zoneId: 'south-school', ref: 'm1' });
    expect(operatorAlertFrom({ payload: reading, alert: { grade: 'B', summary: '夜间噪声' } }, settings, 'm2')).toMatchObject({ grade: 'B', summary: '夜间噪声', status: 'firing' });
  });

  it('refuses with the contract\'s code and the field at fault', () => {
    expect(() => operatorAlertFrom({ payload: { ...reading, value: 'loud' } }, settings, 'm3')).toThrow(expect.objectContaining({ code: 'SW_ERR_PAYLOAD_SCHEMA', message: expect.stringContaining('value') }));
    expect(() => operatorAlertFrom({ payload: 'just text' }, settings, 'm4')).toThrow(expect.objectContaining({ code: 'SW_ERR_PAYLOAD_SCHEMA', message: expect.stringContaining('deviceId') }));
  });
});
