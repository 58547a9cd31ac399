/**
 * What happens to a publish between the parser and the PUBACK, as named steps in order:
 *
 *   wellFormed → takeTurn → route → (operator alert | quarantine | handOff)
 *
 * A publish counts as in progress on its connection from the moment aedes hands it over until
 * its step list answers (and, for QoS 2, until `published` has handed it on): the connection
 * is not read while too many are (see client-stream.ts). An accepted publish reaches `sw.raw`
 * *before* its PUBACK, so an acknowledged publish is never lost.
 */
import { randomUUID } from 'node:crypto';
import type { AedesOptions, Client, PublishPacket } from 'aedes';
import { deadLetter } from '../core/dead-letter.js';
import { swError, type StreetWatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock } from '../core/ports.js';
import type { RawPublish } from '../core/schemas.js';
import { authorizePublish, isValidClientId, principalOfClientId, type Principal } from './acl.js';
import { ClientStream } from './client-stream.js';
import type { HandOffs } from './hand-offs.js';
import type { ClientThrottle } from './limits.js';
import type { OperatorBridge } from './operator-bridge.js';
import { SampledFailures } from './sampled-log.js';

/** Where denied publishes go: no client may subscribe to `$`-topics here, so they vanish. */
export const QUARANTINE_TOPIC = '$SW/quarantine';
/**
 * The largest retained message kept, on a device's status topic only: `online` / `offline`.
 * Nobody may subscribe to other device topics, so a retained copy there could never be read and
 * would only hold memory, as many as a device has topics to invent [MQTT-3.3.1-5].
 */
const MAX_RETAINED_STATUS_BYTES = 64;
/** Failed hand-offs logged per path and error code at most once per interval: a full log refuses a whole fleet's publishes at once. */
export const HAND_OFF_FAILURE_LOG_INTERVAL_MS = 10_000;

type Done = (err?: Error | null) => void;

export interface PublishPathOptions {
  bus: Bus;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Publishes per second per client. */
  throttle: ClientThrottle;
  /** Hand-offs to the bus, a bounded number at once across connections. */
  handOffs: HandOffs;
  /** The operator role, once it is running. */
  operators: () => OperatorBridge | undefined;
}

export type PublishPath = Required<Pick<AedesOptions, 'authorizePublish' | 'published'>> & {
  /** Logs the failures still suppressed (the broker stops). */
  flushLog(): void;
};

export function publishPath(opts: PublishPathOptions): PublishPath {
  const { bus, clock, metrics, logger: log, throttle, handOffs } = opts;
  const failures = {
    publish: new SampledFailures(log, 'could not hand a publish to the pipeline', HAND_OFF_FAILURE_LOG_INTERVAL_MS, clock),
    deadletter: new SampledFailures(log, 'could not dead-letter a rejected publish', HAND_OFF_FAILURE_LOG_INTERVAL_MS, clock),
    alert: new SampledFailures(log, 'could not hand an operator alert to the pipeline', HAND_OFF_FAILURE_LOG_INTERVAL_MS, clock),
  };
  /** Counts a failed hand-off by its path and code, and logs it sampled. */
  const failed = (path: keyof typeof failures, err: unknown, about: Record<string, string>): void => {
    metrics.mqttHandOffFailures.inc({ path, code: failures[path].record(err, about) });
  };
  /** QoS 2 publishes authorized, waiting for aedes to take them as new. */
  const exactlyOnce = new WeakMap<object, { kind: string; raw: RawPublish }>();

  const authorize: AedesOptions['authorizePublish'] = (client, packet, done) => {
    if (!wellFormed(packet, done)) return;
    // A will comes after its connection closed: nothing to hold back or count.
    if (!client || client.closed) return route(client, packet, done);
    const finished = inProgress(client, packet);
    const answer: Done = (err) => {
      finished();
      done(err);
    };
    takeTurn(client, () => route(client, packet, answer), answer);
  };

  /** [MQTT-4.7.3-2] [MQTT-1.5.3-2] U+0000 in a topic makes the packet malformed: the connection closes. */
  function wellFormed(packet: PublishPacket, done: Done): boolean {
    if (!packet.topic.includes('\u0000')) return true;
    done(new Error('topic name contains U+0000'));
    return false;
  }

  /** Counts a publish in progress on its connection; returns what says it is done. */
  function inProgress(client: Client, packet: PublishPacket): () => void {
    const conn = client.conn;
    if (!(conn instanceof ClientStream)) return () => undefined;
    return conn.begin(Buffer.byteLength(packet.topic) + (packet.payload as Buffer).length);
  }

  /** Waits for the client's publish rate; its connection is not read while a publish of it waits. */
  function takeTurn(client: Client, go: () => void, answer: Done): void {
    const conn = client.conn;
    const turn = conn instanceof ClientStream ? throttle.acquire(client.id, conn) : undefined;
    if (!turn) return go();
    void turn.then((ok) => (ok ? go() : answer(new Error('connection closed while the publish waited for its turn'))));
  }

  function route(client: Client | null, packet: PublishPacket, done: Done): void {
    const principal = principalOf(client, packet);
    if (!principal) return done(new Error('publish without an authenticated client'));
    const operators = opts.operators();
    if (principal.role === 'operator' && operators) return operatorAlert(operators, principal.id, packet, done);
    if (principal.role !== 'device') {
      // Feed clients only listen; their publishes go nowhere (there is no errors topic for them).
      metrics.rejected.inc({ code: 'SW_ERR_TOPIC_FORBIDDEN' });
      quarantine(packet);
      return done(null);
    }
    const decision = authorizePublish(principal, packet.topic);
    if (!decision.allow) {
      // [MQTT-3.3.5-2] 3.1.1 cannot tell the client; we acknowledge and drop (the device
      // learns why on its errors topic) rather than close the connection.
      const refused = refuse(principal.id, packet, swError(decision.code, principal.id, packet.topic));
      quarantine(packet);
      return void refused.then(() => done(null));
    }
    if (packet.retain && (decision.kind !== 'status' || (packet.payload as Buffer).length > MAX_RETAINED_STATUS_BYTES)) packet.retain = false;
    if (decision.kind === 'frigate-other') return done(null);
    const raw: RawPublish = { id: randomUUID(), clientId: principal.id, topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, receivedAt: clock.now() };
    // [MQTT-4.3.3-2] A QoS 2 publish repeated before its PUBREL must be taken once. Aedes tells
    // a repeat from a new one only after this authorization, so the hand-off waits for its
    // `published` step, which it runs for new publishes only, before the PUBREC.
    if (packet.qos === 2) {
      exactlyOnce.set(packet, { kind: decision.kind, raw });
      return done(null);
    }
    handOff(decision.kind, raw).then(() => done(null), done);
  }

  /** An operator's alert is taken in (or refused) here; nobody may subscribe to an alerts topic, so it goes nowhere else. */
  function operatorAlert(operators: OperatorBridge, operator: string, packet: PublishPacket, done: Done): void {
    const taken = operators.takePublish(operator, { ...packet });
    quarantine(packet);
    taken.then(
      () => done(null),
      (err: unknown) => {
        failed('alert', err, { operator });
        done(err as Error);
      },
    );
  }

  /** Hands an accepted publish to the pipeline; the caller acknowledges it once that is durable. */
  function handOff(kind: string, raw: RawPublish): Promise<void> {
    metrics.mqttPublishes.inc({ kind });
    return handOffs.run(() => bus.publish('sw.raw', [{ key: raw.clientId, value: raw }])).catch((err: unknown) => {
      // Not durable, so not acknowledged: the connection closes and the device resends.
      failed('publish', err, { deviceId: raw.clientId });
      throw err;
    });
  }

  /** Dead-letters a refused publish (the device hears of it on its errors topic); resolves once handed on, or given up. */
  function refuse(deviceId: string, packet: PublishPacket, error: StreetWatchError): Promise<void> {
    metrics.rejected.inc({ code: error.code });
    const raw: RawPublish = { id: randomUUID(), clientId: deviceId, topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, receivedAt: clock.now() };
    return handOffs.run(() => bus.publish('sw.deadletter', [{ key: deviceId, value: deadLetter(raw, deviceId, error) }])).catch((err: unknown) => {
      failed('deadletter', err, { deviceId });
    });
  }

  const published: AedesOptions['published'] = (packet, client, done) => {
    const accepted = exactlyOnce.get(packet);
    if (!accepted) return done(null);
    exactlyOnce.delete(packet);
    const finished = client ? inProgress(client, packet) : () => undefined;
    handOff(accepted.kind, accepted.raw).then(
      () => {
        finished();
        done(null);
      },
      (err: Error) => {
        finished();
        done(err);
      },
    );
  };

  const flushLog = (): void => Object.values(failures).forEach((f) => f.flush());
  return { authorizePublish: authorize, published, flushLog };
}

/** Sends a publish nowhere: to a topic no client may subscribe to, never retained. */
function quarantine(packet: PublishPacket): void {
  packet.topic = QUARANTINE_TOPIC;
  packet.retain = false;
}

/** The authenticated client behind a publish; for a will published after its client left, the will's (device) owner. */
function principalOf(client: Client | null, packet: PublishPacket): Principal | undefined {
  if (client) return principalOfClientId(client.id);
  const owner = (packet as PublishPacket & { clientId?: string }).clientId;
  return typeof owner === 'string' && isValidClientId(owner) ? { role: 'device', id: owner } : undefined;
}
