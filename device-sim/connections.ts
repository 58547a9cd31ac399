/**
 * Many simulated devices in one process: one MQTT connection each, the way real devices
 * connect (client id = username = device id, the secret as password, a retained `offline` will,
 * a retained `online` birth, a subscription to its errors topic), with counters of what was
 * sent, acknowledged and refused.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { deviceErrorsTopic, deviceStatusTopic } from '../core/topics.js';

export interface TrafficStats {
  /** Publishes handed to MQTT. */
  sent: number;
  /** Publishes the broker acknowledged (QoS 1 PUBACK). */
  acked: number;
  /** Messages received on the devices' errors topics. */
  rejected: number;
  /** Publishes that failed locally (connection lost for good, client closed). */
  failed: number;
  /** The latest rejections, newest first: `device: CODE message`. */
  lastErrors: string[];
}

/**
 * The platform acknowledges a publish once it is in its log and checks it afterwards, so its
 * errors come back after the acknowledgements: a run ends once no error has arrived for this
 * long after its last acknowledgement...
 */
export const ERRORS_QUIET_MS = 500;
/** ...or after this long at most. */
export const ERRORS_LINGER_MS = 10_000;

export interface Credentials {
  id: string;
  secret: string;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class DeviceConnections {
  readonly stats: TrafficStats = { sent: 0, acked: 0, rejected: 0, failed: 0, lastErrors: [] };
  private readonly clients = new Map<string, MqttClient>();
  private inflightCount = 0;
  private waiters: (() => void)[] = [];
  /** When the last acknowledgement or error message arrived (performance.now()). */
  private lastHeard = 0;

  constructor(private readonly url: string) {}

  get size(): number {
    return this.clients.size;
  }

  /** Publishes sent and not yet acknowledged. */
  get inflight(): number {
    return this.inflightCount;
  }

  /** Connects every device, `concurrency` handshakes at a time; rejects on the first refusal. */
  async connectAll(credentials: readonly Credentials[], opts: { concurrency?: number; onProgress?: (connected: number) => void } = {}): Promise<void> {
    await mapLimit(credentials, opts.concurrency ?? 100, async ({ id, secret }) => {
      const status = deviceStatusTopic(id);
      const client = await mqtt
        .connectAsync(
          this.url,
          {
            clientId: id,
            username: id,
            password: secret,
            clean: true,
            keepalive: 60,
            reconnectPeriod: 2000,
            connectTimeout: 30_000,
            will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true },
          },
          false,
        )
        .catch((err: Error) => {
          throw new Error(`device ${id} could not connect to ${this.url}: ${err.message}`, { cause: err });
        });
      client.on('message', (_topic, payload) => {
        this.lastHeard = performance.now();
        this.stats.rejected++;
        this.stats.lastErrors = [`${id}: ${summarize(payload)}`, ...this.stats.lastErrors].slice(0, 5);
      });
      // A device announces itself on every (re)connect; the errors subscription is restored by mqtt.js.
      client.on('connect', () => client.publish(status, 'online', { qos: 1, retain: true }));
      await client.subscribeAsync(deviceErrorsTopic(id), { qos: 1 });
      await client.publishAsync(status, 'online', { qos: 1, retain: true });
      this.clients.set(id, client);
      opts.onProgress?.(this.clients.size);
    });
  }

  /** Sends a QoS 1 publish as the device; false when the device has no connection. */
  publish(deviceId: string, topic: string, payload: string): boolean {
    const client = this.clients.get(deviceId);
    if (!client) return false;
    this.stats.sent++;
    this.inflightCount++;
    client.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) this.stats.failed++;
      else this.stats.acked++;
      this.lastHeard = performance.now();
      this.inflightCount--;
      this.wake();
    });
    return true;
  }

  /** Resolves once fewer than `max` publishes are in flight. */
  async waitForRoom(max: number): Promise<void> {
    while (this.inflightCount >= max) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once every publish sent has been acknowledged or has failed, and its errors have had time to come back. */
  async drain(): Promise<void> {
    await this.waitForRoom(1);
    const end = performance.now() + ERRORS_LINGER_MS;
    while (performance.now() - this.lastHeard < ERRORS_QUIET_MS && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
  }

  /** Says goodbye like a well-behaved device (a retained `offline`), then disconnects. */
  async closeAll(opts: { concurrency?: number } = {}): Promise<void> {
    const clients = [...this.clients];
    this.clients.clear();
    await mapLimit(clients, opts.concurrency ?? 200, async ([id, client]) => {
      if (client.connected) await client.publishAsync(deviceStatusTopic(id), 'offline', { qos: 1, retain: true }).catch(() => undefined);
      await client.endAsync().catch(() => undefined);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function summarize(payload: Buffer): string {
  try {
    const e = JSON.parse(payload.toString('utf8')) as { code?: string; message?: string };
    return `${e.code ?? '?'} ${e.message ?? ''}`.slice(0, 200);
  } catch {
    return payload.toString('utf8').slice(0, 200);
  }
}
