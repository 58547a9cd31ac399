import type { DeviceTrustUpdate } from '../ports.js';
import type { DeviceRecord } from '../schemas.js';

/**
 * What a registry keeps when ingest saves a device's trust state: the later reading time, the
 * later position, every metric name either side knows. Saves in any order, from any instance,
 * leave the same result, and none moves the state back.
 */
export function mergeDeviceTrust(stored: Pick<DeviceRecord, 'lastReadingAt' | 'position' | 'metrics'>, update: DeviceTrustUpdate): Pick<DeviceRecord, 'lastReadingAt' | 'position' | 'metrics'> {
  const lastReadingAt = stored.lastReadingAt === null ? update.lastReadingAt : update.lastReadingAt === null ? stored.lastReadingAt : Math.max(stored.lastReadingAt, update.lastReadingAt);
  const position = !stored.position ? update.position : !update.position ? stored.position : update.position.ts > stored.position.ts ? update.position : stored.position;
  const known = new Set(stored.metrics);
  const metrics = [...stored.metrics, ...update.metrics.filter((m) => !known.has(m))];
  return { lastReadingAt, position, metrics };
}
