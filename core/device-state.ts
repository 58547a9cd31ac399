/**
 * State that belongs to one device, wherever a stage keeps it, and how it goes when the device
 * is deleted.
 *
 * - In the key-value store (rule state, anything a stage keeps per device), a key that belongs to
 *   one device starts with `device:{deviceId}:`. Deleting the device deletes every key under that
 *   prefix (KeyValueStore.deletePrefix), whatever stage wrote it and whatever rules the city had
 *   then: a stage that keeps per-device state adds keys under the prefix and needs nothing else.
 * - In memory (caches, presence, the detectors' subject lists), a stage registers a
 *   DeviceStateHolder with the platform; it is told of deleted devices (at once in the process
 *   that deleted it, and by the periodic reconciliation in every process).
 */

export const DEVICE_KEY_PREFIX = 'device:';

/** The key prefix of everything the key-value store holds about one device. */
export function deviceKeyPrefix(deviceId: string): string {
  return `${DEVICE_KEY_PREFIX}${deviceId}:`;
}

/** The device a key belongs to, when it follows the convention. */
export function deviceOfKey(key: string): string | undefined {
  if (!key.startsWith(DEVICE_KEY_PREFIX)) return undefined;
  const end = key.indexOf(':', DEVICE_KEY_PREFIX.length);
  return end > DEVICE_KEY_PREFIX.length ? key.slice(DEVICE_KEY_PREFIX.length, end) : undefined;
}

/** Per-device state kept in memory by a stage: told which devices no longer exist. */
export interface DeviceStateHolder {
  /** For logs: what the state is. */
  readonly name: string;
  /** Drops everything held about these devices. */
  forget(deviceIds: readonly string[]): void | Promise<void>;
  /** The devices it holds something about, so a reconciliation can find those deleted elsewhere. */
  known(): Iterable<string>;
}

/**
 * Where rule state of one device lived before the prefix (schema version 1): `rule:{rule}:{device}`
 * (threshold) and `rule:{rule}:{kind}:{device}`; the new key is `device:{device}:rule:{rule}[:{kind}]`.
 * Ids hold no colon (DeviceId, EntityId), so the segments are unambiguous; state of zones
 * (`rule:{rule}:{kind}:zone:{zone}`) stays where it is. Undefined for any other key.
 */
export function movedRuleStateKey(key: string): string | undefined {
  const parts = key.split(':');
  if (parts[0] !== 'rule') return undefined;
  if (parts.length === 3) return `${deviceKeyPrefix(parts[2]!)}rule:${parts[1]}`;
  if (parts.length === 4 && parts[3] !== 'zone') return `${deviceKeyPrefix(parts[3]!)}rule:${parts[1]}:${parts[2]}`;
  return undefined;
}
