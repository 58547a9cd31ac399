/**
 * The MQTT edge. Inbound: authenticate devices (connect-path.ts), authorize each publish on
 * topic levels and hand accepted publishes to `sw.raw` *before* the PUBACK, so an acknowledged
 * publish is never lost (publish-path.ts), and answer subscriptions (subscribe-path.ts); each
 * connection is read only while the broker can take more from it (client-stream.ts). Outbound:
 * coded rejections from `sw.deadletter` to each device's errors topic, ticket events to the
 * sub-centers' feeds, and the operators' feeds.
 */
import { Aedes, type Client } from 'aedes';
import type { MqttConfig } from '../core/config.js';
import { deviceErrorMessage } from '../core/dead-letter.js';
import { swError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CityIndex } from '../core/city-index.js';
import type { Metrics } from '../core/metrics.js';
import type { ApiTokenStore, Bus, Clock, DeviceRegistry, Subscription } from '../core/ports.js';
import { LoginThrottle } from '../core/rate-limit.js';
import { deviceErrorsTopic } from '../core/topics.js';
import { principalOfClientId } from './acl.js';
import { ClientStream } from './client-stream.js';
import { HandOffs } from './hand-offs.js';
import { CLUSTER_HEARTBEAT_MS, startBrokerCluster } from './cluster/redis-cluster.js';
import { LeasedRateLimiter, SharedBuckets, sharedConnectRate, sharedLoginThrottle } from './cluster/shared-limits.js';
import { connectPath } from './connect-path.js';
import { ClientThrottle, ConnectionGate } from './limits.js';
import { startListeners } from './listeners.js';
import { startOperatorBridge, type OperatorBridge } from './operator-bridge.js';
import { guardParser } from './parser-guards.js';
import { trackPresence } from './presence.js';
import { publishPath } from './publish-path.js';
import { retainedIndexedPersistence } from './retained-index.js';
import { quoteWire } from './sampled-log.js';
import { subscribePath } from './subscribe-path.js';
import { MAX_MQTT_FANOUT, startSubcenterFeed } from './subcenter-feed.js';

export interface BrokerOptions extends MqttConfig {
  devices: DeviceRegistry;
  /** Unit API tokens: the credentials of the sub-centers' ticket feed clients. */
  tokens?: ApiTokenStore;
  /** The operator role (Node-RED flows); without it no operator can connect. */
  operator?: { token: string; cityIndex: () => CityIndex; maxClockSkewMs: number };
  bus: Bus;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /**
   * The Redis of a distributed deployment: with it, every broker process on it is a node of
   * one broker (sessions, retained messages, wills and routing shared; see cluster/).
   */
  cluster?: { url: string; namespace: string };
}

export interface Broker {
  readonly port: number;
  /** The MQTT over TLS port, when configured. */
  readonly tlsPort: number | undefined;
  /** The MQTT over WebSocket port, when configured. */
  readonly wsPort: number | undefined;
  readonly aedes: Aedes;
  close(): Promise<void>;
}

export async function startBroker(opts: BrokerOptions): Promise<Broker> {
  const { bus, devices, clock, metrics, logger } = opts;
  const log = logger.child({ stage: 'broker', node: opts.nodeId });
  const cluster = opts.cluster && startBrokerCluster({ ...opts.cluster, nodeId: opts.nodeId, logger: log });
  metrics.brokerNode.set({ node: opts.nodeId, mode: cluster ? 'cluster' : 'standalone' }, 1);
  const limits = opts.limits;
  // Clustered, the address limits are one bucket per address in Redis for every node (see
  // cluster/shared-limits.ts); each node's own bucket is what it falls back on.
  const shared = opts.cluster && new SharedBuckets({ url: opts.cluster.url, prefix: `${opts.cluster.namespace}sw:mqtt:`, metrics, logger: log });
  const connectRate = { ratePerSecond: limits.connectRate, burst: limits.connectBurst };
  const gate = new ConnectionGate(limits, clock, metrics, log, shared && sharedConnectRate(shared, connectRate, clock));
  const publishRate = { ratePerSecond: limits.publishRate, burst: limits.publishBurst };
  const publishLimited = (): void => metrics.limited.inc({ limit: 'mqtt_publish_rate' });
  const publishes = new ClientThrottle(publishRate, clock, publishLimited, shared && new LeasedRateLimiter(shared, publishRate, clock, publishLimited));
  const refusedSubscriptions = new ClientThrottle({ ratePerSecond: limits.subscribeRefusalRate, burst: limits.subscribeRefusalBurst }, clock, () =>
    metrics.limited.inc({ limit: 'mqtt_subscribe_refusals' }),
  );
  /** Where each connection comes from (a WebSocket stream has no address of its own). */
  const remotes = new WeakMap<object, string | undefined>();
  /** The connection that holds each client id, to see takeovers [MQTT-3.1.4-2]. */
  const live = new Map<string, Client>();
  let operators: OperatorBridge | undefined;
  /** Every open connection, for what they hold (the held gauges of /metrics). */
  const connections = new Set<ClientStream>();
  metrics.mqttHeld = () => {
    let publishes = 0;
    let bytes = 0;
    let unread = 0;
    for (const c of connections) {
      publishes += c.publishesInProgress;
      bytes += c.queuedBytes;
      unread += c.unreadBytes;
    }
    return { publishes, bytes, unread };
  };

  const connect = connectPath({
    limits,
    devices,
    tokens: opts.tokens,
    operatorToken: opts.operator?.token,
    loginThrottle: shared ? sharedLoginThrottle(shared, limits.loginFailures, clock) : new LoginThrottle(limits.loginFailures, clock),
    addressOf: (client) => remotes.get(client.conn),
    isConnected: (clientId) => {
      const previous = live.get(clientId);
      return previous !== undefined && !previous.closed;
    },
    metrics,
    logger: log,
  });
  const handOffs = new HandOffs({ concurrency: limits.handOffConcurrency, maxWaiting: limits.handOffMaxWaiting, perConnection: limits.clientInflight });
  metrics.mqttHandOffsWaiting = () => handOffs.queued;
  const publish = publishPath({ bus, clock, metrics, logger: log, throttle: publishes, handOffs, operators: () => operators });
  const subscribe = subscribePath({ clock, metrics, logger: log, refusals: refusedSubscriptions, operators: () => operators });

  const aedes = await Aedes.createBroker({
    id: opts.nodeId,
    ...(cluster ? { persistence: cluster.persistence, mq: cluster.mq, heartbeatInterval: CLUSTER_HEARTBEAT_MS } : { persistence: retainedIndexedPersistence() }),
    ...connect,
    authorizePublish: publish.authorizePublish,
    published: publish.published,
    authorizeSubscribe: subscribe.authorizeSubscribe,
    // Device ids may be up to 64 characters; MQTT 3.1 (not 3.1.1) caps client ids at 23.
    maxClientsIdLength: 64,
    connectTimeout: limits.connectTimeoutMs,
    // A client that stops reading holds up every publish to it; past this it is disconnected.
    drainTimeout: limits.drainTimeoutMs,
    // No queue in the message emitter: what reaches it is bounded before (each connection's
    // window, the feeds' bound, the bus consumers' batches). Its queue was unbounded, and drained
    // by recursion when the queued messages had no subscriber, which overflowed the stack.
    concurrency: 0,
  });
  aedes.on('client', (client) => {
    metrics.mqttConnections.inc();
    live.set(client.id, client);
    if (principalOfClientId(client.id).role === 'operator') operators?.operatorConnected();
  });
  aedes.on('clientDisconnect', (client) => {
    metrics.mqttConnections.dec();
    if (live.get(client.id) === client) live.delete(client.id);
    subscribe.forget(client.id);
    if (principalOfClientId(client.id).role === 'operator') operators?.operatorDisconnected();
  });
  const presence = trackPresence(aedes, {
    bus,
    clock,
    logger: log,
    metrics,
    nodeId: cluster ? cluster.presence.node : opts.nodeId,
    isDevice: (client) => principalOfClientId(client.id).role === 'device',
    ...(cluster ? { registry: cluster.presence } : {}),
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'));

  const errorsOut: Subscription = await bus.subscribe(
    'sw.deadletter',
    'broker-device-errors',
    async (records) => {
      await Promise.all(
        records.map(
          ({ value }) =>
            new Promise<void>((resolve) => {
              const payload = Buffer.from(JSON.stringify(deviceErrorMessage(value)));
              aedes.publish({ cmd: 'publish', topic: deviceErrorsTopic(value.deviceId), payload, qos: 1, retain: false, dup: false }, () => resolve());
            }),
        ),
      );
    },
    { maxBatch: MAX_MQTT_FANOUT },
  );
  const ticketsOut = await startSubcenterFeed(aedes, bus);
  operators = opts.operator && (await startOperatorBridge({ ...opts.operator, aedes, bus, devices, clock, metrics, logger, ...(cluster ? { operatorCount: cluster.operatorCount } : {}) }));

  const listeners = await startListeners({
    ...opts,
    requestTimeoutMs: limits.connectTimeoutMs,
    gate,
    logger: log,
    accept(transport, remote, req) {
      const conn = new ClientStream(
        transport,
        { inflight: limits.clientInflight, maxQueuedBytes: limits.clientQueueBytes },
        (queued) => {
          const client = (conn as ClientStream & { client?: Client }).client;
          const error = swError('SW_ERR_CLIENT_QUEUE_FULL', quoteWire(client?.id ?? 'before CONNECT'), queued, limits.clientQueueBytes);
          metrics.mqttDisconnects.inc({ code: error.code });
          log.info({ clientId: client?.id === undefined ? undefined : quoteWire(client.id), remote, code: error.code, queued }, error.message);
        },
        handOffs,
      );
      remotes.set(conn, remote);
      connections.add(conn);
      conn.once('close', () => connections.delete(conn));
      const guarded = guardParser(aedes.handle(conn, req) as unknown as { _parser?: unknown }, conn, {
        maxPacketBytes: opts.maxPacketBytes,
        onTooLarge(size) {
          metrics.rejected.inc({ code: 'SW_ERR_PACKET_TOO_LARGE' });
          metrics.mqttDisconnects.inc({ code: 'SW_ERR_PACKET_TOO_LARGE' });
          log.info({ remote, size, limit: opts.maxPacketBytes }, 'packet too large, connection closed');
        },
        onMalformedUtf8() {
          metrics.rejected.inc({ code: 'SW_ERR_MQTT_MALFORMED' });
          metrics.mqttDisconnects.inc({ code: 'SW_ERR_MQTT_MALFORMED' });
          log.info({ remote }, 'a string of a packet is not well-formed UTF-8, connection closed');
        },
      });
      if (!guarded) log.error('mqtt-packet parser internals changed: connection refused, the parser guards cannot be installed');
    },
  }).catch(async (err: unknown) => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await errorsOut.close();
    await ticketsOut.close();
    await operators?.close();
    await presence.close();
    await cluster?.close();
    await shared?.close();
    throw err;
  });
  const { port, tlsPort, wsPort } = listeners;
  log.info({ port, tlsPort, wsPort, mode: cluster ? 'cluster' : 'standalone' }, 'MQTT broker listening');

  return {
    port,
    tlsPort,
    wsPort,
    aedes,
    async close() {
      // Drain [issue: SIGTERM moves clients]: accept no more connections and read no more from
      // the open ones; let the publishes in progress be handed on and their PUBACKs written;
      // then close every connection, so its client reconnects (through the load balancer, to
      // another node). What a client sent and was not read gets no PUBACK: it sends it again.
      const stopped = listeners.close();
      for (const conn of connections) conn.hold();
      const settled = await settle(() => [...connections].every((c) => c.publishesInProgress === 0 && c.queuedBytes === 0), limits.shutdownDrainMs);
      const left = [...connections].reduce((n, c) => n + c.publishesInProgress, 0);
      log.info({ connections: connections.size, settled, publishesLeft: left }, settled ? 'drained: closing the connections' : 'drain timed out: closing the connections');
      publishes.close();
      refusedSubscriptions.close();
      await Promise.all([stopped, new Promise<void>((resolve) => aedes.close(() => resolve()))]);
      await errorsOut.close();
      await ticketsOut.close();
      await operators?.close();
      await presence.close();
      publish.flushLog();
      await cluster?.close();
      await shared?.close();
    },
  };
}

/** How often a drain looks whether the connections have settled. */
const SETTLE_POLL_MS = 20;

/** Resolves true once `done()` holds, false if it did not within `ms`. */
async function settle(done: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
  return true;
}
