/**
 * Which connection speaks for each device, across broker nodes, in Redis. A device that
 * reconnects through another node takes its id over there, and aedes closes the old connection
 * when the new node announces it; the two nodes' Redis calls are not ordered with that
 * announcement, so the old node's release may come before the new node's claim. A release
 * therefore only marks the device as leaving, and says "offline" after a grace period if
 * nobody claimed it meanwhile.
 *
 * A node that dies (kill -9, lost host) releases nothing. Each node process therefore beats in
 * Redis and keeps the set of devices it speaks for; the node that first sees another's beat
 * missing sweeps its devices that nobody claimed since, and reports them offline.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { PresenceRegistry } from '../presence.js';

/** How long a released device may be claimed by another connection before it counts as offline. */
export const PRESENCE_GRACE_MS = 2_000;
/** How often a node beats; three missed beats and another node sweeps its devices. */
export const PRESENCE_HEARTBEAT_MS = 2_000;
const MISSED_BEATS = 3;
/** How long one node holds the right to sweep a dead one (a sweep takes well under this). */
const SWEEP_LOCK_MS = 60_000;
/** Devices checked per Redis round trip in a sweep. */
const SWEEP_BATCH = 500;

/** The node of a connection name (`<node>/<n>`), through a leaving mark. */
const NODE_OF = `local function node_of(v) if string.sub(v, 1, 8) == 'leaving ' then v = string.sub(v, 9) end return string.match(v, '^(.*)/[^/]*$') end `;
/**
 * KEYS: the device's key, this node's device set. ARGV: connection, device, this node. The
 * device leaves the set of the node that held it before, if another; the set key of a node is
 * this node's with the node name replaced.
 */
const CLAIM = `${NODE_OF}
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1])
if old then
  local node = node_of(old)
  if node and node ~= ARGV[3] then redis.call('SREM', string.sub(KEYS[2], 1, #KEYS[2] - #ARGV[3]) .. node, ARGV[2]) end
end
redis.call('SADD', KEYS[2], ARGV[2])`;
/** Marks the key as leaving if this connection still holds it: 1 if it did. */
const LEAVE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], 'leaving ' .. ARGV[1], 'PX', ARGV[2]) return 1 end return 0`;
/** Deletes the key (and the device from this node's set) if it is still this connection's leaving mark: 1 if it was. */
const GONE = `if redis.call('GET', KEYS[1]) == 'leaving ' .. ARGV[1] then redis.call('DEL', KEYS[1]) redis.call('SREM', KEYS[2], ARGV[2]) return 1 end return 0`;
/**
 * KEYS: device keys. ARGV[1]: the dead node. Deletes each key still held (or left) by the dead
 * node, or gone without a release; returns 1 per device that is now offline, 0 per device that
 * another connection holds.
 */
const SWEEP = `${NODE_OF}
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then out[i] = 1
  elseif node_of(v) == ARGV[1] then redis.call('DEL', k) out[i] = 1
  else out[i] = 0 end
end
return out`;

/** What the registry needs of an ioredis connection (the broker cluster's, key prefix included). */
export interface PresenceRedis {
  set(key: string, value: string, px: 'PX', ms: number, nx?: 'NX'): Promise<unknown>;
  del(...keys: string[]): Promise<unknown>;
  exists(key: string): Promise<number>;
  sadd(key: string, member: string): Promise<unknown>;
  srem(key: string, member: string): Promise<unknown>;
  smembers(key: string): Promise<string[]>;
  eval(script: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface ClusterPresence extends PresenceRegistry {
  /** This node process's name in connection names: the node id and a mark of this start. */
  readonly node: string;
}

/**
 * The registry of one node process. `node` is unique per process start, so a node restarted
 * under the same id does not take for its own the connections of its previous life.
 */
export function redisPresence(redis: PresenceRedis, nodeId: string, logger: Logger, opts: { graceMs?: number; heartbeatMs?: number } = {}): ClusterPresence {
  const graceMs = opts.graceMs ?? PRESENCE_GRACE_MS;
  const heartbeatMs = opts.heartbeatMs ?? PRESENCE_HEARTBEAT_MS;
  const node = `${nodeId}.${randomBytes(4).toString('hex')}`;
  const key = (deviceId: string): string => `presence:${encodeURIComponent(deviceId)}`;
  const devicesOf = (n: string): string => `presence-node:${n}`;
  const alive = (n: string): string => `presence-alive:${n}`;
  const NODES = 'presence-nodes';

  async function beat(): Promise<void> {
    await redis.set(alive(node), '1', 'PX', heartbeatMs * MISSED_BEATS);
    await redis.sadd(NODES, node);
  }

  async function sweep(dead: string, offline: (deviceId: string) => void): Promise<void> {
    if ((await redis.set(`presence-sweep:${dead}`, node, 'PX', SWEEP_LOCK_MS, 'NX')) !== 'OK') return;
    const devices = await redis.smembers(devicesOf(dead));
    for (let i = 0; i < devices.length; i += SWEEP_BATCH) {
      const batch = devices.slice(i, i + SWEEP_BATCH);
      const gone = (await redis.eval(SWEEP, batch.length, ...batch.map(key), dead)) as number[];
      batch.forEach((deviceId, j) => gone[j] === 1 && offline(deviceId));
    }
    await redis.del(devicesOf(dead));
    await redis.srem(NODES, dead);
    logger.info({ node: dead, devices: devices.length }, 'a broker node stopped beating: its devices that did not move are offline');
  }

  return {
    node,
    claim: async (deviceId, connection) => void (await redis.eval(CLAIM, 2, key(deviceId), devicesOf(node), connection, deviceId, node)),
    async release(deviceId, connection) {
      if ((await redis.eval(LEAVE, 1, key(deviceId), connection, graceMs * 2)) !== 1) return false;
      await new Promise((resolve) => setTimeout(resolve, graceMs).unref());
      return (await redis.eval(GONE, 2, key(deviceId), devicesOf(node), connection, deviceId)) === 1;
    },
    watch(offline) {
      let sweeping = false;
      const tick = async (): Promise<void> => {
        await beat();
        if (sweeping) return;
        sweeping = true;
        try {
          for (const other of await redis.smembers(NODES)) {
            if (other !== node && (await redis.exists(alive(other))) === 0) await sweep(other, offline);
          }
        } finally {
          sweeping = false;
        }
      };
      const run = (): void => void tick().catch((err: unknown) => logger.warn({ err }, 'could not beat or sweep broker nodes in Redis'));
      const timer = setInterval(run, heartbeatMs);
      timer.unref();
      run();
      return async () => {
        clearInterval(timer);
        // Stopping on purpose: the others sweep at once what this node's connections left.
        await redis.del(alive(node)).catch(() => undefined);
      };
    },
  };
}
