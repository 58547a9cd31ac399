/**
 * Who may publish and subscribe to what, decided on topic levels (see core/topics.ts).
 */
import type { ErrorCode } from '../core/errors.js';
import { DEVICE_ID_RE } from '../core/schemas.js';
import { classifyDeviceTopic, parseDeviceTopic, type DeviceTopicKind } from '../core/topics.js';
import { authorizeOperatorSubscribe, operatorOfClientId } from './operator.js';

/**
 * A device (client id = device id), the ticket feed client of a unit (sub-center or district
 * center), whose client id starts with `subcenter:`, or an operator's flows runtime
 * (`operator:`, see operator.ts). Device ids cannot contain ':', so they never collide and
 * neither kind of client ever takes over a device's session.
 */
export type Principal = { role: 'device'; id: string } | { role: 'subcenter'; id: string } | { role: 'operator'; id: string };

export const SUBCENTER_CLIENT_PREFIX = 'subcenter:';
const FEED_CLIENT_RE = /^subcenter:([A-Za-z0-9][A-Za-z0-9_.-]{0,63})(?::[A-Za-z0-9_.-]{1,32})?$/;

/** The unit of a feed client id: `subcenter:{unitId}`, optionally `:{suffix}` for several clients of one unit. */
export function subcenterOfClientId(clientId: string): string | undefined {
  return FEED_CLIENT_RE.exec(clientId)?.[1];
}

/** Who an authenticated client is, from its client id. */
export function principalOfClientId(clientId: string): Principal {
  const unit = subcenterOfClientId(clientId);
  if (unit !== undefined) return { role: 'subcenter', id: unit };
  const operator = operatorOfClientId(clientId);
  return operator !== undefined ? { role: 'operator', id: operator } : { role: 'device', id: clientId };
}

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
  // Feed clients only listen; operators publish alerts, which operator-bridge.ts takes in.
  if (principal.role !== 'device') return { allow: false, code: 'SW_ERR_TOPIC_FORBIDDEN' };
  const parsed = parseDeviceTopic(topic);
  if (!parsed || parsed.deviceId !== principal.id) return { allow: false, code: 'SW_ERR_TOPIC_FORBIDDEN' };
  const kind = classifyDeviceTopic(parsed.rest);
  if (kind === 'errors') return { allow: false, code: 'SW_ERR_TOPIC_FORBIDDEN' };
  return { allow: true, deviceId: parsed.deviceId, kind };
}

/**
 * A device subscribes only to its own errors topic, a feed client only to its unit's tickets
 * topic, exactly: no wildcards, no `$SYS`. Operators: see operator.ts.
 */
export function authorizeSubscribe(principal: Principal, filter: string): boolean {
  if (principal.role === 'operator') return authorizeOperatorSubscribe(principal.id, filter);
  const levels = filter.split('/');
  const [area, leaf] = principal.role === 'device' ? ['devices', 'errors'] : ['subcenters', 'tickets'];
  return levels.length === 4 && levels[0] === 'v1' && levels[1] === area && levels[2] === principal.id && levels[3] === leaf;
}
