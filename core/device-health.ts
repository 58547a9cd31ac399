/**
 * Device health at a glance, pure: how many devices are online, offline or unknown, per kind,
 * and which are offline (the wall view's panel and map, `GET /api/console/device-health`).
 */
import { z } from 'zod';
import { Location, type DeviceRecord } from './schemas.js';

/** Most offline devices `GET /api/console/device-health` lists (the rest are counted). */
export const DEVICE_HEALTH_MAX_OFFLINE = 200;

const Count = z.number().int().min(0);
const ByStatus = z.object({ online: Count, offline: Count, unknown: Count });

/** `GET /api/console/device-health`. */
export const DeviceHealth = z.object({
  asOf: z.number().int(),
  total: Count,
  byStatus: ByStatus,
  /** Per device kind, by status, kinds in name order. */
  byKind: z.array(ByStatus.extend({ kind: z.string() })),
  /** Offline devices, the most recently seen first (the freshest losses are the news). */
  offline: z.array(z.object({ id: z.string(), kind: z.string(), location: Location.nullable(), lastSeen: z.number().int().nullable() })),
  offlineTruncated: z.boolean(),
});
export type DeviceHealth = z.infer<typeof DeviceHealth>;

/** Device health at a glance, over the devices the viewer sees. Pure, for the route and its tests. */
export function deviceHealth(devices: readonly DeviceRecord[], asOf: number, max = DEVICE_HEALTH_MAX_OFFLINE): DeviceHealth {
  const byStatus = { online: 0, offline: 0, unknown: 0 };
  const kinds = new Map<string, { kind: string; online: number; offline: number; unknown: number }>();
  const offline: DeviceRecord[] = [];
  for (const d of devices) {
    byStatus[d.status]++;
    let k = kinds.get(d.kind);
    if (!k) kinds.set(d.kind, (k = { kind: d.kind, online: 0, offline: 0, unknown: 0 }));
    k[d.status]++;
    if (d.status === 'offline') offline.push(d);
  }
  offline.sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0) || a.id.localeCompare(b.id));
  return {
    asOf,
    total: devices.length,
    byStatus,
    byKind: [...kinds.values()].sort((a, b) => a.kind.localeCompare(b.kind)),
    offline: offline.slice(0, max).map((d) => ({ id: d.id, kind: d.kind, location: d.location, lastSeen: d.lastSeen })),
    offlineTruncated: offline.length > max,
  };
}
