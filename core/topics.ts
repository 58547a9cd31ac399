/**
 * The MQTT topic tree of the device contract. Topics are split into levels and compared level
 * by level, never built into patterns, so an id can never smuggle a separator or wildcard.
 */

/** The data topics of the device contract, after `v1/devices/{id}/`. */
export type DeviceTopicKind = 'telemetry' | 'senml' | 'events' | 'frigate-event' | 'frigate-other' | 'status';

/** Splits `v1/devices/{id}/rest...` into the id and the rest; undefined for other topics. */
export function parseDeviceTopic(topic: string): { deviceId: string; rest: string[] } | undefined {
  const levels = topic.split('/');
  if (levels.length < 4 || levels[0] !== 'v1' || levels[1] !== 'devices') return undefined;
  return { deviceId: levels[2]!, rest: levels.slice(3) };
}

/** What the platform does with a publish to `v1/devices/{id}/<rest>`. */
export function classifyDeviceTopic(rest: readonly string[]): DeviceTopicKind | 'errors' | 'unknown' {
  const [first, second] = rest;
  if (rest.length === 1) {
    if (first === 'telemetry' || first === 'senml' || first === 'events' || first === 'status' || first === 'errors') return first;
    return 'unknown';
  }
  if (first === 'frigate') {
    // Frigate publishes many topics under its prefix (availability, stats, per-camera state);
    // only `events` carries detections, the rest is accepted and left alone.
    return rest.length === 2 && second === 'events' ? 'frigate-event' : 'frigate-other';
  }
  return 'unknown';
}

/** Platform → device: coded rejections of the device's publishes. */
export function deviceErrorsTopic(deviceId: string): string {
  return `v1/devices/${deviceId}/errors`;
}

/** Platform → unit: ticket events for a street sub-center (or the district center) feed client. */
export function subcenterTicketsTopic(unitId: string): string {
  return `v1/subcenters/${unitId}/tickets`;
}

/** Device → platform: `online` / `offline` (birth, last will, or the broker's own report). */
export function deviceStatusTopic(deviceId: string): string {
  return `v1/devices/${deviceId}/status`;
}

/**
 * The operators' namespace (Node-RED flows): the second level says what flows there, and only
 * the alerts and errors topics carry an operator's name, last, so a wildcard over the feeds
 * can never reach another operator's topics.
 */
export const OPERATOR_CITY_TOPIC = 'v1/operators/city';

/** Platform → operators: normalized readings, QoS 0 (a live feed). */
export function operatorReadingsTopic(metric: string, deviceId: string): string {
  return `v1/operators/readings/${metric}/${deviceId}`;
}

/** Platform → operators: camera and analytics events. `type` must be a safe topic level. */
export function operatorEventsTopic(type: string, deviceId: string): string {
  return `v1/operators/events/${type}/${deviceId}`;
}

/** Platform → operators: ticket events, under the unit holding the ticket. */
export function operatorTicketsTopic(unitId: string): string {
  return `v1/operators/tickets/${unitId}`;
}

/** Operator → platform: the one topic an operator may publish to. */
export function operatorAlertsTopic(operator: string): string {
  return `v1/operators/alerts/${operator}`;
}

/** Platform → operator: coded rejections of the operator's alerts. */
export function operatorErrorsTopic(operator: string): string {
  return `v1/operators/errors/${operator}`;
}
