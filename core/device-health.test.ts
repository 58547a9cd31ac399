import { describe, expect, it } from 'vitest';
import { deviceHealth } from './device-health.js';
import { provisionedDevice, type DeviceRecord } from './schemas.js';

const device = (id: string, kind: string, status: DeviceRecord['status'], lastSeen: number | null): DeviceRecord => ({
  ...provisionedDevice({ id, kind, location: { lat: 23.1, lon: 113.3 } }, 'scrypt$x', 0),
  status,
  lastSeen,
});

describe('device health at a glance', () => {
  it('counts by status and kind, and lists the offline devices most recently seen first', () => {
    const h = deviceHealth([device('a', 'smoke', 'online', 5), device('b', 'smoke', 'offline', 3), device('c', 'water_level', 'offline', 9), device('d', 'water_level', 'unknown', null)], 100);
    expect(h).toEqual({
      asOf: 100,
      total: 4,
      byStatus: { online: 1, offline: 2, unknown: 1 },
      byKind: [
        { kind: 'smoke', online: 1, offline: 1, unknown: 0 },
        { kind: 'water_level', online: 0, offline: 1, unknown: 1 },
      ],
      offline: [
        { id: 'c', kind: 'water_level', location: { lat: 23.1, lon: 113.3 }, lastSeen: 9 },
        { id: 'b', kind: 'smoke', location: { lat: 23.1, lon: 113.3 }, lastSeen: 3 },
      ],
      offlineTruncated: false,
    });
    expect(JSON.stringify(h)).not.toContain('scrypt');
  });

  it('lists at most its bound of offline devices and says the list is cut', () => {
    const many = Array.from({ length: 250 }, (_, i) => device(`d-${i}`, 'smoke', 'offline', i));
    const h = deviceHealth(many, 1);
    expect(h.offline).toHaveLength(200);
    expect(h.offline[0]!.id).toBe('d-249');
    expect(h.offlineTruncated).toBe(true);
    expect(h.byStatus.offline).toBe(250);
  });
});
