import { describe, expect, it } from 'vitest';
import { loadCity } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import { provisionedDevice, type DeviceRecord } from '../core/schemas.js';
import { FIXTURE_CITY, cityWithWebhooks } from '../test/support/harness.js';
import { authorizePublish, authorizeSubscribe, isValidClientId, principalOfClientId } from './acl.js';
import { authorizeOperatorSubscribe, checkOperatorCredentials, isOperatorAlertsTopic, operatorOfClientId } from './operator.js';
import { operatorAlertToAlert, operatorCity, validateOperatorAlert } from './operator-bridge.js';

const TOKEN = 'swo_operator-token-for-tests';
const NOW = Date.UTC(2026, 5, 1, 22);
const city = new CityIndex(loadCity(FIXTURE_CITY));
const device: DeviceRecord = { ...provisionedDevice({ id: 'nz-1', kind: 'noise', location: { lat: 23.115, lon: 113.315 } }, 'x', 0), status: 'online' };
const ctx = { operator: 'flows', city, device, now: NOW, maxClockSkewMs: 300_000 };

describe('operator identity', () => {
  it('recognises operator clients by their client id, which no device or feed id can take', () => {
    expect(operatorOfClientId('operator:flows')).toBe('flows');
    expect(operatorOfClientId('operator:flows:a1b2c3')).toBe('flows');
    for (const bad of ['flows', 'operator:', 'operator:-x', 'operator:a/b', 'operator:a+b', 'operator:flows:', 'operator:flows:a:b', 'xoperator:flows']) expect(operatorOfClientId(bad)).toBeUndefined();
    expect(principalOfClientId('operator:flows:nr1')).toEqual({ role: 'operator', id: 'flows' });
    expect(principalOfClientId('subcenter:north')).toEqual({ role: 'subcenter', id: 'north' });
    expect(isValidClientId('operator:flows')).toBe(false);
  });

  it('accepts the operator token with the matching username only', async () => {
    await expect(checkOperatorCredentials(TOKEN, 'operator:flows:x', 'operator:flows', Buffer.from(TOKEN))).resolves.toBeUndefined();
    for (const [username, password] of [
      ['operator:flows', 'swo_wrong'],
      ['operator:other', TOKEN],
      ['flows', TOKEN],
      ['operator:flows', ''],
    ] as const) {
      await expect(checkOperatorCredentials(TOKEN, 'operator:flows', username, Buffer.from(password))).rejects.toMatchObject({ code: 'SW_ERR_BAD_CREDENTIALS' });
    }
    await expect(checkOperatorCredentials(undefined, 'operator:flows', 'operator:flows', Buffer.from(TOKEN))).rejects.toMatchObject({ code: 'SW_ERR_BAD_CREDENTIALS' });
  });
});

describe('operator ACL', () => {
  const op = { role: 'operator', id: 'flows' } as const;

  it('lets an operator read the feeds, with wildcards below the feed level, the city and its own errors', () => {
    for (const filter of [
      'v1/operators/readings/#',
      'v1/operators/readings/water_level/+',
      'v1/operators/readings/+/wl-1',
      'v1/operators/events/+/+',
      'v1/operators/tickets/north',
      'v1/operators/tickets/#',
      'v1/operators/city',
      'v1/operators/errors/flows',
    ]) {
      expect(authorizeSubscribe(op, filter), filter).toBe(true);
    }
  });

  it("never reaches other operators' topics, devices, feeds of units or $SYS", () => {
    for (const filter of [
      '#',
      'v1/#',
      'v1/operators/#',
      'v1/operators/+/flows',
      'v1/operators/+/#',
      'v1/operators/alerts/flows',
      'v1/operators/alerts/#',
      'v1/operators/errors/other',
      'v1/operators/errors/+',
      'v1/operators/errors/flows/x',
      'v1/operators/readings/#/x',
      'v1/operators/readings/water+/x',
      'v1/devices/wl-1/errors',
      'v1/subcenters/north/tickets',
      '$SYS/#',
    ]) {
      expect(authorizeOperatorSubscribe('flows', filter), filter).toBe(false);
    }
  });

  it('lets an operator publish to its own alerts topic only', () => {
    expect(isOperatorAlertsTopic('flows', 'v1/operators/alerts/flows')).toBe(true);
    for (const topic of ['v1/operators/alerts/other', 'v1/operators/alerts/flows/x', 'v1/operators/readings/noise/nz-1', 'v1/devices/nz-1/telemetry']) {
      expect(isOperatorAlertsTopic('flows', topic), topic).toBe(false);
    }
    // The device ACL never lets an operator through: its publishes are the bridge's to take or refuse.
    expect(authorizePublish(op, 'v1/devices/nz-1/telemetry')).toEqual({ allow: false, code: 'SW_ERR_TOPIC_FORBIDDEN' });
  });
});

describe('operator alerts', () => {
  const base = { ruleId: 'school-noise-night', deviceId: 'nz-1', metric: 'noise', value: 72, grade: 'C', category: 'fire', zoneId: 'south-school', ts: NOW - 60_000 };

  it('becomes an alert with a fingerprint of its own and an id that a repeat reproduces', () => {
    const alert = operatorAlertToAlert(validateOperatorAlert({ ...base, threshold: 55, startsAt: NOW - 300_000 }), ctx);
    expect(alert).toEqual({
      id: `operator:flows/school-noise-night/nz-1@${NOW - 300_000}:firing`,
      fingerprint: 'operator:flows/school-noise-night/nz-1',
      status: 'firing',
      ruleId: 'school-noise-night',
      deviceId: 'nz-1',
      metric: 'noise',
      value: 72,
      threshold: 55,
      grade: 'C',
      category: 'fire',
      department: '',
      zoneId: 'south-school',
      subcenterId: 'south',
      loc: device.location,
      ts: NOW - 60_000,
      startsAt: NOW - 300_000,
      summary: 'school-noise-night: noise 72 at nz-1 (operator flows)',
    });
    expect(operatorAlertToAlert(validateOperatorAlert({ ...base, threshold: 55, startsAt: NOW - 300_000 }), ctx).id).toBe(alert.id);
    const resolved = operatorAlertToAlert(validateOperatorAlert({ ...base, status: 'resolved', value: 40, startsAt: NOW - 300_000, summary: '夜间噪声恢复' }), ctx);
    expect(resolved).toMatchObject({ status: 'resolved', id: `operator:flows/school-noise-night/nz-1@${NOW - 300_000}:resolved`, summary: '夜间噪声恢复' });
  });

  it('takes the arrival time and the device location when the flow gives none', () => {
    const { ts: _ts, zoneId: _z, ...bare } = base;
    expect(operatorAlertToAlert(validateOperatorAlert(bare), ctx)).toMatchObject({ ts: NOW, startsAt: NOW, loc: device.location, subcenterId: 'south' });
  });

  it.each([
    [{ ...base, grade: 'E' }, 'SW_ERR_PAYLOAD_SCHEMA'],
    [{ ...base, extra: 1 }, 'SW_ERR_PAYLOAD_SCHEMA'],
    [{ ...base, ruleId: 'a/b' }, 'SW_ERR_PAYLOAD_SCHEMA'],
    [{ ...base, value: '72' }, 'SW_ERR_PAYLOAD_SCHEMA'],
    [{ ...base, summary: 'x'.repeat(513) }, 'SW_ERR_PAYLOAD_SCHEMA'],
  ])('refuses what breaks the contract: %j', (payload, code) => {
    expect(() => validateOperatorAlert(payload)).toThrow(expect.objectContaining({ code }));
  });

  it.each([
    [{ ...base, zoneId: 'atlantis' }, 'SW_ERR_REFERENCE_UNKNOWN', 'zone "atlantis" is not in the city configuration'],
    [{ ...base, category: 'noise-nuisance' }, 'SW_ERR_REFERENCE_UNKNOWN', 'category "noise-nuisance"'],
    [{ ...base, department: 'ministry-of-silly-walks' }, 'SW_ERR_REFERENCE_UNKNOWN', 'department "ministry-of-silly-walks"'],
    [{ ...base, ts: NOW + 3_600_000 }, 'SW_ERR_TS_RANGE', 'outside the accepted window'],
    [{ ...base, startsAt: 1000 }, 'SW_ERR_TS_RANGE', 'outside the accepted window'],
  ])('refuses what the city does not know or the clock does not allow: %j', (payload, code, message) => {
    expect(() => operatorAlertToAlert(validateOperatorAlert(payload), ctx)).toThrow(expect.objectContaining({ code, message: expect.stringContaining(message) }));
  });

  it('refuses an alert about a device that is not provisioned', () => {
    expect(() => operatorAlertToAlert(validateOperatorAlert(base), { ...ctx, device: undefined })).toThrow(expect.objectContaining({ code: 'SW_ERR_DEVICE_UNKNOWN' }));
  });
});

describe('the city for operators', () => {
  it('carries places, categories and departments, and no webhook or secret', () => {
    const c = operatorCity(new CityIndex(loadCity(cityWithWebhooks({ north: { url: 'https://north.example/hook', secret: 'north-secret-0123456789' } }))));
    expect(c.zones.map((z) => [z.id, z.kind, z.risk])).toEqual([
      ['north-tunnel', 'underpass', 'high'],
      ['south-school', 'school', 'medium'],
    ]);
    expect(c.subcenters.map((s) => s.id)).toEqual(['north', 'south']);
    expect(c.categories).toContainEqual({ id: 'flooding', name: '内涝积水', department: 'water-affairs' });
    expect(JSON.stringify(c)).not.toMatch(/webhook|secret/);
  });
});
