import { describe, expect, it } from 'vitest';
import { authorizePublish, authorizeSubscribe, isValidClientId, principalOfClientId, subcenterOfClientId } from './acl.js';

const dev = { role: 'device', id: 'wl-001' } as const;

describe('device ACL', () => {
  it.each([
    ['v1/devices/wl-001/telemetry', 'telemetry'],
    ['v1/devices/wl-001/senml', 'senml'],
    ['v1/devices/wl-001/events', 'events'],
    ['v1/devices/wl-001/status', 'status'],
    ['v1/devices/wl-001/frigate/events', 'frigate-event'],
    ['v1/devices/wl-001/frigate/front_door/person', 'frigate-other'],
    ['v1/devices/wl-001/whatever', 'unknown'],
  ])('lets a device publish under its own prefix: %s', (topic, kind) => {
    expect(authorizePublish(dev, topic)).toEqual({ allow: true, deviceId: 'wl-001', kind });
  });

  it.each([
    'v1/devices/wl-002/telemetry',
    'v1/devices/wl-001x/telemetry',
    'v1/devices/wl-00/telemetry',
    'v1/devices/wl-001',
    'v1/devices/wl-001/errors',
    'v2/devices/wl-001/telemetry',
    '/v1/devices/wl-001/telemetry',
    '$SYS/broker/clients',
    'v1/subcenters/linhe/tickets',
  ])('refuses %s', (topic) => {
    expect(authorizePublish(dev, topic)).toEqual({ allow: false, code: 'SW_ERR_TOPIC_FORBIDDEN' });
  });

  it('lets a device subscribe to its own errors topic only, without wildcards', () => {
    expect(authorizeSubscribe(dev, 'v1/devices/wl-001/errors')).toBe(true);
    for (const filter of ['v1/devices/wl-002/errors', 'v1/devices/+/errors', 'v1/devices/wl-001/#', '#', '$SYS/#', 'v1/devices/wl-001/telemetry', 'v1/devices/wl-001/errors/x']) {
      expect(authorizeSubscribe(dev, filter)).toBe(false);
    }
  });

  it('accepts only device ids as client ids', () => {
    for (const ok of ['wl-001', 'A', 'cam.gate_3', 'x'.repeat(64)]) expect(isValidClientId(ok)).toBe(true);
    for (const bad of ['', '-lead', 'a/b', 'a+b', 'a#b', 'a\0b', 'a b', 'x'.repeat(65), '__proto__', '井盖', undefined, 42]) expect(isValidClientId(bad)).toBe(false);
  });
});

describe('sub-center feed ACL', () => {
  const feed = { role: 'subcenter', id: 'linhe' } as const;

  it('recognises feed clients by their client id, which no device id can take', () => {
    expect(subcenterOfClientId('subcenter:linhe')).toBe('linhe');
    expect(subcenterOfClientId('subcenter:linhe:console-2')).toBe('linhe');
    for (const bad of ['linhe', 'subcenter:', 'subcenter:-x', 'subcenter:a/b', 'subcenter:linhe:', 'subcenter:linhe:a:b', 'xsubcenter:linhe']) expect(subcenterOfClientId(bad)).toBeUndefined();
    expect(principalOfClientId('subcenter:linhe')).toEqual(feed);
    expect(principalOfClientId('wl-001')).toEqual({ role: 'device', id: 'wl-001' });
    expect(isValidClientId('subcenter:linhe')).toBe(false);
  });

  it('lets a feed client subscribe to its own tickets topic only, and publish nothing', () => {
    expect(authorizeSubscribe(feed, 'v1/subcenters/linhe/tickets')).toBe(true);
    for (const filter of ['v1/subcenters/shipai/tickets', 'v1/subcenters/+/tickets', 'v1/subcenters/linhe/#', '#', 'v1/devices/linhe/errors', 'v1/subcenters/linhe/tickets/x']) {
      expect(authorizeSubscribe(feed, filter)).toBe(false);
    }
    expect(authorizeSubscribe(dev, 'v1/subcenters/linhe/tickets')).toBe(false);
    for (const topic of ['v1/subcenters/linhe/tickets', 'v1/devices/linhe/telemetry']) expect(authorizePublish(feed, topic)).toEqual({ allow: false, code: 'SW_ERR_TOPIC_FORBIDDEN' });
  });
});
