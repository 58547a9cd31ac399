/**
 * Which connection speaks for each device, across broker nodes, in Redis. A device that
 * reconnects through another node takes its id over there, and aedes closes the old connection
 * when the new node announces it; the two nodes' Redis calls are not ordered with that
 * announcement, so the old node's release may come before the new node's claim. A release
 * therefore only marks the device as leaving, and says "offline" after a grace period if
 * nobody claimed it meanwhile.
 */
import type { PresenceRegistry } from '../presence.js';

/** How long a released device may be claimed by another connection before it counts as offline. */
export const PRESENCE_GRACE_MS = 2_000;

/** Marks the key as leaving if this connection still holds it: 1 if it did. */
const LEAVE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], 'leaving ' .. ARGV[1], 'PX', ARGV[2]) return 1 end return 0`;
/** Deletes the key if it is still this connection's leaving mark: 1 if it was. */
const GONE = `if redis.call('GET', KEYS[1]) == 'leaving ' .. ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end return 0`;

/** What the registry needs of an ioredis connection (the broker cluster's, key prefix included). */
export interface PresenceRedis {
  set(key: string, value: string): Promise<unknown>;
  eval(script: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
}

export function redisPresence(redis: PresenceRedis, graceMs = PRESENCE_GRACE_MS): PresenceRegistry {
  const key = (deviceId: string): string => `presence:${encodeURIComponent(deviceId)}`;
  return {
    claim: async (deviceId, connection) => void (await redis.set(key(deviceId), connection)),
    async release(deviceId, connection) {
      if ((await redis.eval(LEAVE, 1, key(deviceId), connection, graceMs * 2)) !== 1) return false;
      await new Promise((resolve) => setTimeout(resolve, graceMs).unref());
      return (await redis.eval(GONE, 1, key(deviceId), connection)) === 1;
    },
  };
}
