/**
 * What turns several broker processes into one broker: aedes' persistence and message emitter
 * on the Redis the distributed mode already runs (aedes-persistence-redis, mqemitter-redis).
 * Sessions, subscriptions of persistent sessions, retained messages, wills and the offline
 * queues of feed clients live in Redis; every message a client may subscribe to goes through
 * Redis pub/sub, so it reaches its subscriber on whichever node it is connected, and aedes'
 * own announcements (`$SYS/{node}/new/clients`) close a client's older connection on another
 * node when it connects again [MQTT-3.1.4-2].
 *
 * Device → platform publishes are handed to the bus before they reach aedes' emitter, and no
 * client may subscribe to a device's topics but its errors topic: those are emitted on the
 * node alone, so a reading costs Redis nothing.
 */
import { createRequire } from 'node:module';
import type { Logger } from '../../core/logger.js';
import { QUARANTINE_TOPIC } from '../publish-path.js';
import { clusterOperatorCount, type OperatorCount, type OperatorCountRedis } from './operator-count.js';
import { redisPresence, type ClusterPresence, type PresenceRedis } from './presence-registry.js';

const require = createRequire(import.meta.url);

/** How often a node says it is alive; three missed beats and the others publish its clients' wills. */
export const CLUSTER_HEARTBEAT_MS = 5_000;

interface RedisLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}
type RedisConstructor = new (url: string, options: Record<string, unknown>) => RedisLike;

interface Emitter {
  readonly state: { on(event: 'error', listener: (err: Error) => void): unknown };
  emit(message: { topic: string }, done?: (err?: Error) => void): void;
  _emit(message: { topic: string }, done?: (err?: Error) => void): void;
  close(done: () => void): void;
}

/** The ioredis a package was built against (each brings its own major). */
function ioredisOf(pkg: string): RedisConstructor {
  return createRequire(require.resolve(pkg))('ioredis') as RedisConstructor;
}

export interface BrokerClusterOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** This node's name. */
  nodeId: string;
  /** Prefix of the keys and channels (the deployment's namespace). */
  namespace: string;
  logger: Logger;
}

export interface BrokerCluster {
  /** Aedes' `persistence` and `mq` options. */
  readonly persistence: unknown;
  readonly mq: unknown;
  /** Which connection speaks for each device, across nodes. */
  readonly presence: ClusterPresence;
  /** Whether an operator is connected to any node. */
  readonly operatorCount: OperatorCount;
  close(): Promise<void>;
}

/** Topics no client anywhere may subscribe to: emitted on this node only. */
export function isNodeLocalTopic(topic: string): boolean {
  if (topic === QUARANTINE_TOPIC) return true;
  return topic.startsWith('v1/devices/') && !topic.endsWith('/errors');
}

export function startBrokerCluster(opts: BrokerClusterOptions): BrokerCluster {
  const prefix = `${opts.namespace}sw:mqtt:`;
  const log = opts.logger.child({ component: 'broker-cluster' });
  const connections: RedisLike[] = [];
  const connect = (Redis: RedisConstructor, role: string, options: Record<string, unknown> = {}): RedisLike => {
    const conn = new Redis(opts.url, { connectionName: `streetwatch-broker-${role}`, maxRetriesPerRequest: null, ...options });
    conn.on('error', (err: Error) => log.warn({ role, err: err.message }, 'broker cluster connection to Redis failed'));
    connections.push(conn);
    return conn;
  };

  const persistenceFactory = require('aedes-persistence-redis') as (o: Record<string, unknown>) => { destroy(cb: () => void): void };
  const state = connect(ioredisOf('aedes-persistence-redis'), 'persistence', { keyPrefix: prefix });
  const persistence = persistenceFactory({ conn: state });

  const { MQEmitterRedisPrefix } = require('mqemitter-redis') as { MQEmitterRedisPrefix: new (prefix: string, o: Record<string, unknown>) => Emitter };
  const EmitterRedis = ioredisOf('mqemitter-redis');
  const mq = new MQEmitterRedisPrefix(prefix, {
    pubConn: connect(EmitterRedis, 'publish'),
    subConn: connect(EmitterRedis, 'subscribe'),
    // No queue in the emitter (see server.ts): what reaches it is bounded before.
    concurrency: 0,
    matchEmptyLevels: true,
  });
  // The emitter re-emits its connections' errors on `state`, an emitter with no listener, where
  // an error would be thrown: a Redis outage is logged (by `connect` above) and waited out.
  mq.state.on('error', () => undefined);
  const throughRedis = mq.emit.bind(mq);
  mq.emit = (message, done) => (isNodeLocalTopic(message.topic) ? mq._emit({ ...message, topic: prefix + message.topic }, done) : throughRedis(message, done));

  const operatorCount = clusterOperatorCount(state as unknown as OperatorCountRedis, opts.nodeId, log);
  return {
    persistence,
    mq,
    presence: redisPresence(state as unknown as PresenceRedis, opts.nodeId, log),
    operatorCount,
    async close() {
      await operatorCount.close();
      // After aedes closed, which closed the emitter (its two connections, and with them the
      // persistence's subscription broadcast): only the state connection is left. Closing the
      // emitter or destroying the persistence again would wait for connections already gone.
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
