/**
 * The MQTT edge. Inbound: authenticate devices, authorize each publish on topic levels, and
 * hand accepted publishes to `sw.raw` *before* the PUBACK, so an acknowledged publish is never
 * lost. Outbound: coded rejections from `sw.deadletter` to each device's errors topic.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { Aedes, type AedesOptions, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { MqttConfig } from '../core/config.js';
import { StreetWatchError, swError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CityIndex } from '../core/city-index.js';
import type { Metrics } from '../core/metrics.js';
import type { ApiTokenStore, Bus, Clock, DeviceRegistry, Subscription } from '../core/ports.js';
import type { RawPublish } from '../core/schemas.js';
import { deadLetter, deviceErrorMessage } from '../core/dead-letter.js';
import { OPERATOR_CITY_TOPIC, deviceErrorsTopic } from '../core/topics.js';
import { LoginThrottle } from '../core/rate-limit.js';
import { authorizePublish, authorizeSubscribe, isValidClientId, principalOfClientId, type Principal } from './acl.js';
import { applyConnectPolicy } from './connect-policy.js';
import { ConnectionGate, PublishThrottle } from './limits.js';
import { checkOperatorCredentials } from './operator.js';
import { startOperatorBridge, type OperatorBridge } from './operator-bridge.js';
import { startListeners } from './listeners.js';
import { guardParser } from './parser-guards.js';
import { retainedIndexedPersistence } from './retained-index.js';
import { trackPresence } from './presence.js';
import { verifySecret } from '../core/secret-hash.js';
import { checkSubcenterCredentials, startSubcenterFeed } from './subcenter-feed.js';

/** Where denied publishes go: no client may subscribe to `$`-topics here, so they vanish. */
const QUARANTINE_TOPIC = '$SW/quarantine';
/** Verified credentials remembered per process, so reconnects skip scrypt. */
const AUTH_CACHE_MAX = 100_000;
/**
 * The largest retained message kept, on a device's status topic only: `online` / `offline`.
 * Nobody may subscribe to other device topics, so a retained copy there could never be read and
 * would only hold memory, as many as a device has topics to invent [MQTT-3.3.1-5].
 */
const MAX_RETAINED_STATUS_BYTES = 64;

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
  const log = logger.child({ stage: 'broker' });
  const authCache = new Map<string, { secretHash: string; digest: Buffer }>();

  const limits = opts.limits;
  const gate = new ConnectionGate(limits, clock, metrics, log);
  const publishThrottle = new PublishThrottle(limits, clock, metrics);
  const loginThrottle = new LoginThrottle(limits.loginFailures, clock);
  /** Where each connection comes from (a WebSocket stream has no address of its own). */
  const remotes = new WeakMap<object, string | undefined>();
  const addressOf = (client: Client): string | undefined => remotes.get(client.conn);
  /** Reasons found in a CONNECT before authentication, answered in its CONNACK. */
  const refusals = new WeakMap<Client, StreetWatchError>();
  /** The connection that holds each client id, to see takeovers [MQTT-3.1.4-2]. */
  const live = new Map<string, Client>();

  const preConnect: AedesOptions['preConnect'] = (client, packet, done) => {
    // [MQTT-1.5.3-2] a will topic with U+0000 is malformed: the connection closes without a CONNACK.
    if (packet.will?.topic.includes('\u0000')) return done(new Error('will topic contains U+0000'), false);
    const refusal = applyConnectPolicy(packet, limits);
    if (refusal) refusals.set(client, refusal);
    done(null, true);
  };

  const authenticate: AedesOptions['authenticate'] = (client, username, password, done) => {
    const address = addressOf(client);
    const check = (): Promise<void> => {
      // Refused before anything is looked up: a throttled address costs no hashing or store reads.
      const wait = loginThrottle.refusedFor(address);
      if (wait > 0) {
        metrics.limited.inc({ limit: 'mqtt_auth_failures' });
        return Promise.reject(swError('SW_ERR_RATE_LIMITED', `too many failed logins from this address, retry in ${Math.ceil(wait / 1000)} s`));
      }
      const refusal = refusals.get(client);
      if (refusal) return Promise.reject(refusal);
      const role = principalOfClientId(client.id).role;
      if (role === 'subcenter') return checkSubcenterCredentials(opts.tokens, client.id, username, password);
      if (role === 'operator') return checkOperatorCredentials(opts.operator?.token, client.id, username, password);
      return checkCredentials(client.id, username, password);
    };
    check().then(
      () => {
        const previous = live.get(client.id);
        if (previous && !previous.closed) {
          // The newcomer proved the same credentials: it takes over, as the spec requires.
          metrics.mqttTakeovers.inc();
          log.info({ clientId: safeId(client.id), remote: address }, 'connection takes over an open connection of the same client id');
        }
        done(null, true);
      },
      (err: unknown) => {
        const code: ErrorCode = err instanceof StreetWatchError ? err.code : 'SW_ERR_INTERNAL';
        if (code === 'SW_ERR_BAD_CREDENTIALS') loginThrottle.failed(address);
        metrics.mqttAuthFailures.inc({ code });
        log.info({ clientId: safeId(client.id), remote: address, code }, 'connection refused');
        const refusal = new Error(err instanceof Error ? err.message : String(err)) as AuthenticateError;
        refusal.returnCode = connackReturnCode(code);
        done(refusal, false);
      },
    );
  };

  async function checkCredentials(clientId: string, username: string | undefined, password: Buffer | undefined): Promise<void> {
    if (!isValidClientId(clientId)) throw swError('SW_ERR_CLIENT_ID_INVALID', safeId(clientId));
    if (username !== clientId || !password || password.length === 0 || password.length > 512) {
      throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
    }
    let device;
    try {
      device = await devices.get(clientId);
    } catch (err) {
      throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['device registry', (err as Error).message], { cause: err });
    }
    if (!device) throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
    const digest = createHash('sha256').update(password).digest();
    const cached = authCache.get(clientId);
    if (cached && cached.secretHash === device.secretHash && timingSafeEqual(cached.digest, digest)) return;
    if (!(await verifySecret(password.toString('utf8'), device.secretHash))) throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
    if (authCache.size >= AUTH_CACHE_MAX) authCache.delete(authCache.keys().next().value!);
    authCache.set(clientId, { secretHash: device.secretHash, digest });
  }

  const onPublish: AedesOptions['authorizePublish'] = (client, packet, done) => {
    // [MQTT-4.7.3-2] [MQTT-1.5.3-2] U+0000 in a topic makes the packet malformed: close the connection.
    if (packet.topic.includes('\u0000')) return done(new Error('topic name contains U+0000'));
    // A will comes after its connection closed: it is never held back.
    const wait = client && !client.closed ? publishThrottle.acquire(client.id) : undefined;
    if (!wait) return authorizeNow(client, packet, done);
    wait.then(() => {
      // The connection ended while the publish waited: never acknowledged, so the client resends it.
      if (client!.closed) return done(new Error('connection closed while the publish waited for its turn'));
      authorizeNow(client, packet, done);
    });
  };

  const authorizeNow: NonNullable<AedesOptions['authorizePublish']> = (client, packet, done) => {
    const principal = principalOf(client, packet);
    if (!principal) return done(new Error('publish without an authenticated client'));
    if (principal.role === 'operator' && operators) {
      const taken = operators.takePublish(principal.id, { ...packet });
      // Taken in (or refused) here; nobody may subscribe to an alerts topic, so the packet goes nowhere else.
      packet.topic = QUARANTINE_TOPIC;
      packet.retain = false;
      taken.then(
        () => done(null),
        (err: unknown) => {
          log.warn({ err, operator: principal.id }, 'could not hand an operator alert to the pipeline');
          done(err as Error);
        },
      );
      return;
    }
    if (principal.role !== 'device') {
      // Feed clients only listen; their publishes go nowhere (there is no errors topic for them).
      metrics.rejected.inc({ code: 'SW_ERR_TOPIC_FORBIDDEN' });
      packet.topic = QUARANTINE_TOPIC;
      packet.retain = false;
      return done(null);
    }
    const decision = authorizePublish(principal, packet.topic);
    if (!decision.allow) {
      reject(principal.id, packet, swError(decision.code, principal.id, packet.topic));
      // [MQTT-3.3.5-2] 3.1.1 cannot tell the client; we acknowledge and drop (the device
      // learns why on its errors topic) rather than close the connection.
      packet.topic = QUARANTINE_TOPIC;
      packet.retain = false;
      return done(null);
    }
    if (packet.retain && (decision.kind !== 'status' || (packet.payload as Buffer).length > MAX_RETAINED_STATUS_BYTES)) packet.retain = false;
    if (decision.kind === 'frigate-other') return done(null);
    const raw: RawPublish = {
      id: randomUUID(),
      clientId: principal.id,
      topic: packet.topic,
      payload: packet.payload as Buffer,
      qos: packet.qos,
      receivedAt: clock.now(),
    };
    // [MQTT-4.3.3-2] A QoS 2 publish repeated before its PUBREL must be taken once. Aedes tells
    // a repeat from a new one only after this authorization, so the hand-off waits for its
    // `published` step, which it runs for new publishes only, before the PUBREC.
    if (packet.qos === 2) {
      exactlyOnce.set(packet, { kind: decision.kind, raw });
      return done(null);
    }
    handOff(decision.kind, raw).then(() => done(null), done);
  };

  /** Hands an accepted publish to the pipeline; the caller acknowledges it once that is durable. */
  const handOff = (kind: string, raw: RawPublish): Promise<void> => {
    metrics.mqttPublishes.inc({ kind });
    return bus.publish('sw.raw', [{ key: raw.clientId, value: raw }]).catch((err: unknown) => {
      // Not durable, so not acknowledged: the connection closes and the device resends.
      log.warn({ err, deviceId: raw.clientId }, 'could not hand a publish to the pipeline');
      throw err;
    });
  };

  /** QoS 2 publishes authorized, waiting for aedes to take them as new. */
  const exactlyOnce = new WeakMap<object, { kind: string; raw: RawPublish }>();
  const published: AedesOptions['published'] = (packet, _client, done) => {
    const accepted = exactlyOnce.get(packet);
    if (!accepted) return done(null);
    exactlyOnce.delete(packet);
    handOff(accepted.kind, accepted.raw).then(() => done(null), done);
  };

  function reject(deviceId: string, packet: PublishPacket, error: StreetWatchError): void {
    metrics.rejected.inc({ code: error.code });
    const raw: RawPublish = { id: randomUUID(), clientId: deviceId, topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, receivedAt: clock.now() };
    bus.publish('sw.deadletter', [{ key: deviceId, value: deadLetter(raw, deviceId, error) }]).catch((err: unknown) => {
      log.warn({ err, deviceId }, 'could not dead-letter a rejected publish');
    });
  }

  const onSubscribe: AedesOptions['authorizeSubscribe'] = (client, sub, done) => {
    if (sub.topic.includes('\u0000')) return done(new Error('topic filter contains U+0000'));
    const principal: Principal = principalOfClientId(client.id);
    if (authorizeSubscribe(principal, sub.topic)) {
      // A city reloaded since it was last published goes out before the retained copy is sent.
      if (principal.role === 'operator' && sub.topic === OPERATOR_CITY_TOPIC && operators) return void operators.refreshCity().then(() => done(null, sub), () => done(null, sub));
      return done(null, sub);
    }
    metrics.rejected.inc({ code: 'SW_ERR_SUBSCRIBE_FORBIDDEN' });
    log.info({ clientId: client.id, filter: sub.topic }, 'subscription refused');
    // A null subscription answers 0x80 (failure) in the SUBACK for this filter only.
    done(null, null);
  };

  const aedes = await Aedes.createBroker({
    preConnect,
    authenticate,
    published,
    authorizePublish: onPublish,
    authorizeSubscribe: onSubscribe,
    persistence: retainedIndexedPersistence(),
    // Device ids may be up to 64 characters; MQTT 3.1 (not 3.1.1) caps client ids at 23.
    maxClientsIdLength: 64,
    connectTimeout: limits.connectTimeoutMs,
    // A client that stops reading holds up every publish to it; past this it is disconnected.
    drainTimeout: limits.drainTimeoutMs,
  });
  aedes.on('client', (client) => {
    metrics.mqttConnections.inc();
    live.set(client.id, client);
    if (principalOfClientId(client.id).role === 'operator') operators?.operatorConnected();
  });
  aedes.on('clientDisconnect', (client) => {
    metrics.mqttConnections.dec();
    if (live.get(client.id) === client) live.delete(client.id);
    if (principalOfClientId(client.id).role === 'operator') operators?.operatorDisconnected();
  });
  trackPresence(aedes, { bus, clock, logger: log, isDevice: (client) => principalOfClientId(client.id).role === 'device' });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'));

  const errorsOut: Subscription = await bus.subscribe('sw.deadletter', 'broker-device-errors', async (records) => {
    await Promise.all(
      records.map(
        ({ value }) =>
          new Promise<void>((resolve) => {
            const payload = Buffer.from(JSON.stringify(deviceErrorMessage(value)));
            aedes.publish({ cmd: 'publish', topic: deviceErrorsTopic(value.deviceId), payload, qos: 1, retain: false, dup: false }, () => resolve());
          }),
      ),
    );
  });
  const ticketsOut = await startSubcenterFeed(aedes, bus);
  const operators: OperatorBridge | undefined = opts.operator && (await startOperatorBridge({ ...opts.operator, aedes, bus, devices, clock, metrics, logger }));

  const listeners = await startListeners({
    ...opts,
    requestTimeoutMs: limits.connectTimeoutMs,
    gate,
    logger: log,
    accept(stream, remote, req) {
      remotes.set(stream, remote);
      const guarded = guardParser(aedes.handle(stream, req) as unknown as { _parser?: unknown }, stream, {
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
    throw err;
  });
  const { port, tlsPort, wsPort } = listeners;
  log.info({ port, tlsPort, wsPort }, 'MQTT broker listening');

  return {
    port,
    tlsPort,
    wsPort,
    aedes,
    async close() {
      publishThrottle.close();
      await Promise.all([listeners.close(), new Promise<void>((resolve) => aedes.close(() => resolve()))]);
      await errorsOut.close();
      await ticketsOut.close();
      await operators?.close();
    },
  };
}

/** The authenticated client behind a publish; for a will published after its client left, the will's (device) owner. */
function principalOf(client: Client | null, packet: PublishPacket): Principal | undefined {
  if (client) return principalOfClientId(client.id);
  const owner = (packet as PublishPacket & { clientId?: string }).clientId;
  return typeof owner === 'string' && isValidClientId(owner) ? { role: 'device', id: owner } : undefined;
}

/** The 3.1.1 CONNACK return code of a refusal: 2 identifier rejected, 3 unavailable, 4 bad credentials, 5 not authorized. */
function connackReturnCode(code: ErrorCode): AuthenticateError['returnCode'] {
  switch (code) {
    case 'SW_ERR_CLIENT_ID_INVALID':
      return 2;
    // Retry later: 3.1.1 has no code for "too many attempts" (MQTT 5 would say 0x9F).
    case 'SW_ERR_UNAVAILABLE':
    case 'SW_ERR_RATE_LIMITED':
      return 3;
    case 'SW_ERR_TOPIC_FORBIDDEN':
      return 5;
    default:
      return 4;
  }
}

function safeId(id: unknown): string {
  return JSON.stringify(String(id).slice(0, 80));
}
