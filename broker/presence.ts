/**
 * Device presence from the connection itself. MQTT publishes a will only when a connection ends
 * without a DISCONNECT [MQTT-3.1.2-8] and discards it on a clean one [MQTT-3.14.4-3], so a device
 * that disconnects cleanly, or sets no will (Frigate puts its own on `<prefix>/available`), would
 * stay "online" forever. The broker therefore reports `online` when a device's connection is
 * accepted and `offline` when it ends, as a status publish on `sw.raw`: ingest stays the one
 * writer of device status, in order with the device's own birth and will messages.
 */
import { randomUUID } from 'node:crypto';
import type { Aedes, Client } from 'aedes';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock } from '../core/ports.js';
import type { RawPublish } from '../core/schemas.js';
import { deviceStatusTopic } from '../core/topics.js';
import { SampledFailures } from './sampled-log.js';

/** Failed presence reports logged per error code at most once per interval: a fleet disconnects at once. */
export const PRESENCE_FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * Which connection speaks for each device. With several broker nodes a device that reconnects
 * through another node takes its id over there [MQTT-3.1.4-2], and the end of its old
 * connection, on the old node, must not report it offline: the registry is shared (Redis).
 */
export interface PresenceRegistry {
  /** `connection` speaks for the device from now on. */
  claim(deviceId: string, connection: string): Promise<void>;
  /** `connection` ended: true when no other connection spoke for the device by then (it is offline). */
  release(deviceId: string, connection: string): Promise<boolean>;
  /**
   * Reports devices whose connections ended without a release (a node that died) as they are
   * found; returns what stops watching. Absent where nothing can end that way (one process).
   */
  watch?(offline: (deviceId: string) => void): () => Promise<void>;
}

/** The registry of one broker process: its own connections are all there is. */
export function localPresence(): PresenceRegistry {
  const current = new Map<string, string>();
  return {
    claim: async (deviceId, connection) => void current.set(deviceId, connection),
    async release(deviceId, connection) {
      if (current.get(deviceId) !== connection) return false;
      current.delete(deviceId);
      return true;
    },
  };
}

export interface PresenceOptions {
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** Counts failed reports; absent, they are only logged. */
  metrics?: Metrics;
  /** Which connections are devices (default: all); other principals have no device status. */
  isDevice?: (client: Client) => boolean;
  /** Default: this process's connections only. */
  registry?: PresenceRegistry;
  /** This node's name: connection names are unique across nodes. */
  nodeId?: string;
}

export function trackPresence(aedes: Aedes, opts: PresenceOptions): { close(): Promise<void> } {
  const { bus, clock, logger, isDevice = () => true, registry = localPresence() } = opts;
  const failures = new SampledFailures(logger, 'could not report a device connection change', PRESENCE_FAILURE_LOG_INTERVAL_MS, clock);
  // When a second connection takes over an id [MQTT-3.1.4-2], only the end of the current one
  // means the device went away.
  const names = new WeakMap<Client, string>();
  let connections = 0;
  /** Releases in progress: one per connection that ended in the last grace period. */
  const releasing = new Set<Promise<void>>();

  const report = (deviceId: string, status: 'online' | 'offline'): void => {
    const raw: RawPublish = {
      id: randomUUID(),
      clientId: deviceId,
      topic: deviceStatusTopic(deviceId),
      payload: Buffer.from(status),
      qos: 1,
      receivedAt: clock.now(),
    };
    bus.publish('sw.raw', [{ key: deviceId, value: raw }]).catch((err: unknown) => {
      const code = failures.record(err, { deviceId, status });
      opts.metrics?.mqttHandOffFailures.inc({ path: 'presence', code });
    });
  };

  aedes.on('client', (client) => {
    if (!isDevice(client)) return;
    const name = `${opts.nodeId ?? ''}/${++connections}`;
    names.set(client, name);
    const deviceId = client.id;
    registry.claim(deviceId, name).then(
      () => report(deviceId, 'online'),
      (err: unknown) => logger.warn({ err, deviceId }, 'could not record a device connection'),
    );
  });
  aedes.on('clientDisconnect', (client) => {
    const name = names.get(client);
    if (name === undefined) return;
    const deviceId = client.id;
    const released = registry.release(deviceId, name).then(
      (offline) => void (offline && report(deviceId, 'offline')),
      (err: unknown) => logger.warn({ err, deviceId }, 'could not record the end of a device connection'),
    );
    releasing.add(released);
    void released.finally(() => releasing.delete(released));
  });
  const unwatch = registry.watch?.((deviceId) => report(deviceId, 'offline'));
  return {
    // A stopping node settles the releases of the connections it closed (a grace period at
    // most) before it stops beating, so a device that moved meanwhile is not swept offline.
    async close() {
      await Promise.all([...releasing]);
      await unwatch?.();
      failures.flush();
    },
  };
}
