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
import type { Bus, Clock } from '../core/ports.js';
import type { RawPublish } from '../core/schemas.js';
import { deviceStatusTopic } from '../core/topics.js';

export interface PresenceOptions {
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** Which connections are devices (default: all); other principals have no device status. */
  isDevice?: (client: Client) => boolean;
}

export function trackPresence(aedes: Aedes, opts: PresenceOptions): void {
  const { bus, clock, logger, isDevice = () => true } = opts;
  // The connection that currently speaks for each device: when a second connection takes over
  // an id [MQTT-3.1.4-2], only the end of the current one means the device went away.
  const current = new Map<string, Client>();

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
      logger.warn({ err, deviceId, status }, 'could not report a device connection change');
    });
  };

  aedes.on('client', (client) => {
    if (!isDevice(client)) return;
    current.set(client.id, client);
    report(client.id, 'online');
  });
  aedes.on('clientDisconnect', (client) => {
    if (current.get(client.id) !== client) return;
    current.delete(client.id);
    report(client.id, 'offline');
  });
}
