/**
 * Flood limits of the MQTT edge, each a small object the broker consults at one step:
 * - `ConnectionGate`, when a TCP connection arrives (any listener): the number of open
 *   connections, and new connections per second from one address;
 * - `PublishThrottle`, when a publish is authorized: publishes per second per client, enforced
 *   by reading that client's socket more slowly (backpressure), never by dropping.
 * Failed logins are limited by `LoginThrottle` (core/rate-limit.ts), shared with the HTTP API.
 */
import type { Server, Socket } from 'node:net';
import type { MqttLimits } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Clock } from '../core/ports.js';
import { KeyedRateLimiter, addressKey, isLoopback } from '../core/rate-limit.js';

/** The longest a throttled publish waits before its bucket is looked at again. */
const MAX_RECHECK_MS = 1_000;

/**
 * Admits or refuses TCP connections as they arrive, before TLS, WebSocket or MQTT work is done
 * for them. A refused connection is closed at once: MQTT 3.1.1 has no way to say why before a
 * CONNECT, and answering would cost what the limit is there to save.
 */
export class ConnectionGate {
  private open = 0;
  private readonly perAddress: KeyedRateLimiter;

  constructor(
    private readonly limits: Pick<MqttLimits, 'maxConnections' | 'connectRate' | 'connectBurst' | 'loginFailures'>,
    clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.perAddress = new KeyedRateLimiter({ ratePerSecond: limits.connectRate, burst: limits.connectBurst }, clock);
  }

  /** Connections open now, across the listeners this gate guards. */
  get connections(): number {
    return this.open;
  }

  /** Guards a listener: its sockets are admitted here before any of its own handlers runs. */
  guard(server: Server): void {
    server.prependListener('connection', (socket: Socket) => {
      if (this.admit(socket.remoteAddress)) {
        this.open++;
        this.metrics.mqttSockets.inc();
        socket.once('close', () => {
          this.open--;
          this.metrics.mqttSockets.dec();
        });
      } else {
        socket.destroy();
      }
    });
  }

  private admit(address: string | undefined): boolean {
    if (this.open >= this.limits.maxConnections) return this.refuse('mqtt_connections', address);
    const exempt = !this.limits.loginFailures.limitLoopback && isLoopback(address);
    if (!exempt && !this.perAddress.take(addressKey(address))) return this.refuse('mqtt_connect_rate', address);
    return true;
  }

  private refuse(limit: string, address: string | undefined): false {
    this.metrics.limited.inc({ limit });
    this.log.debug({ remote: address, limit, open: this.open }, 'connection refused by a limit');
    return false;
  }
}

interface Waiting {
  release: () => void;
}

/**
 * Publishes per client, as a token bucket. A publish over the rate is not refused: its
 * authorization waits for a token, and aedes reads nothing more from that client's socket
 * meanwhile, so TCP pushes back on the sender and nothing it sent is lost. Waiting publishes
 * of one client are released in the order they arrived [MQTT-4.6.0-6].
 */
export class PublishThrottle {
  private readonly limiter: KeyedRateLimiter;
  private readonly queues = new Map<string, { waiting: Waiting[]; timer: NodeJS.Timeout | undefined }>();
  private closed = false;

  constructor(
    limits: Pick<MqttLimits, 'publishRate' | 'publishBurst'>,
    clock: Clock,
    private readonly metrics: Metrics,
  ) {
    this.limiter = new KeyedRateLimiter({ ratePerSecond: limits.publishRate, burst: limits.publishBurst }, clock);
  }

  /** Resolves when `clientId` may publish; undefined when it may now (the common case, no promise). */
  acquire(clientId: string): Promise<void> | undefined {
    const queue = this.queues.get(clientId);
    if (!queue && this.limiter.take(clientId)) return undefined;
    this.metrics.limited.inc({ limit: 'mqtt_publish_rate' });
    return new Promise<void>((release) => {
      const q = queue ?? { waiting: [], timer: undefined };
      q.waiting.push({ release });
      if (!queue) {
        this.queues.set(clientId, q);
        this.schedule(clientId, q);
      }
    });
  }

  /** Publishes waiting now, across clients. */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.waiting.length;
    return n;
  }

  /** Releases every waiting publish (the broker is closing; aedes drops what follows). */
  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) {
      clearTimeout(q.timer);
      for (const w of q.waiting) w.release();
    }
    this.queues.clear();
  }

  private schedule(clientId: string, q: { waiting: Waiting[]; timer: NodeJS.Timeout | undefined }): void {
    if (this.closed) return;
    const wait = Math.min(MAX_RECHECK_MS, Math.max(1, this.limiter.waitMs(clientId)));
    q.timer = setTimeout(() => this.drain(clientId, q), wait);
    q.timer.unref();
  }

  private drain(clientId: string, q: { waiting: Waiting[]; timer: NodeJS.Timeout | undefined }): void {
    while (q.waiting.length > 0 && this.limiter.take(clientId)) q.waiting.shift()!.release();
    if (q.waiting.length === 0) this.queues.delete(clientId);
    else this.schedule(clientId, q);
  }
}
