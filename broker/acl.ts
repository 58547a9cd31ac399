/**
 * Who may publish and subscribe to what, decided on topic levels (see core/topics.ts).
 */
import type { ErrorCode } from '../core/errors.js';
import { DEVICE_ID_RE } from '../core/schemas.js';
import { classifyDeviceTopic, parseDeviceTopic, type DeviceTopicKind } from '../core/topics.js';

export type Principal = { role: 'device'; id: string };

export type PublishDecision =
  | { allow: true; deviceId: string; kind: DeviceTopicKind | 'unknown' }
  | { allow: false; code: ErrorCode };

/** Client ids are device ids: no `+ # /`, NUL, spaces or anything outside the id alphabet. */
export function isValidClientId(id: unknown): id is string {
  return typeof id === 'string' && DEVICE_ID_RE.test(id);
}

/**
 * A device publishes only under its own `v1/devices/{id}/`, and never to its errors topic,
 * which is platform → device. `$SYS` and every other namespace are closed to devices.
 */
export function authorizePublish(principal: Principal, topic: string): PublishDecision {
  const parsed = parseDeviceTopic(topic);
  if (!parsed || parsed.deviceId !== principal.id) return { allow: false, code: 'SW_ERR_TOPIC_FORBIDDEN' };
  const kind = classifyDeviceTopic(parsed.rest);
  if (kind === 'errors') return { allow: false, code: 'SW_ERR_TOPIC_FORBIDDEN' };
  return { allow: true, deviceId: parsed.deviceId, kind };
}

/** A device subscribes only to its own errors topic, exactly: no wildcards, no `$SYS`. */
export function authorizeSubscribe(principal: Principal, filter: string): boolean {
  const levels = filter.split('/');
  return levels.length === 4 && levels[0] === 'v1' && levels[1] === 'devices' && levels[2] === principal.id && levels[3] === 'errors';
}
