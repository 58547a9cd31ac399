/**
 * Flood limits of the MQTT edge, each a small object the broker consults at one step:
 * - `ConnectionGate`, when a TCP connection arrives (any listener): the number of open
 *   connections, and new connections per second from one address;
 * - `ClientThrottle`, when a publish is authorized (and when a subscription is refused): actions
 *   per second per client, enforced by not reading that client's connection while one of its
 *   actions waits (backpressure), never by dropping.
 * Failed logins are limited by `LoginThrottle` (core/rate-limit.ts), shared with the HTTP API.
 * A clustered broker counts the per-address rate and failed logins in Redis instead
 * (cluster/shared-limits.ts).
 */
import type { Server, Socket } from 'node:net';
import type { MqttLimits } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Clock } from '../core/ports.js';
import { KeyedRateLimiter, addressKey, isLoopback } from '../core/rate-limit.js';

/** The longest a throttled action waits before its bucket is looked at again. */
const MAX_RECHECK_MS = 1_000;

/**
 * Admits or refuses TCP connections as they arrive, before TLS, WebSocket or MQTT work is done
 * for them. A refused connection is closed at once: MQTT 3.1.1 has no way to say why before a
 * CONNECT, and answering would cost what the limit is there to save.
 */
export class ConnectionGate {
  private open = 0;
  private readonly perAddress: (address: string | undefined) => boolean | Promise<boolean>;

  constructor(
    private readonly limits: Pick<MqttLimits, 'maxConnections' | 'connectRate' | 'connectBurst' | 'loginFailures'>,
    clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The per-address rate counted elsewhere (in Redis, across a cluster's nodes); by default in this process. */
    shared?: (address: string | undefined) => Promise<boolean>,
  ) {
    const local = new KeyedRateLimiter({ ratePerSecond: limits.connectRate, burst: limits.connectBurst }, clock);
    this.perAddress = shared ?? ((address) => local.take(addressKey(address)));
  }

  /** Connections open now, across the listeners this gate guards. */
  get connections(): number {
    return this.open;
  }

  /**
   * Guards a listener: its sockets are admitted here before any of its own handlers runs. With
   * `addressLater` the per-address rate waits for `admitAddress` (the client's address comes in
   * a PROXY protocol header, after the connection).
   */
  guard(server: Server, addressLater = false): void {
    server.prependListener('connection', (socket: Socket) => {
      const admitted = addressLater ? this.admitCount(socket.remoteAddress) : this.admit(socket.remoteAddress);
      // A shared rate answers later: the connection is closed once it says no. What the client
      // sent meanwhile is read, but a CONNECT waits for its own Redis round trip (the login
      // lockout) as long as this one, so it is not answered before the refusal in practice.
      if (admitted instanceof Promise) void admitted.then((ok) => ok || socket.destroy());
      if (admitted !== false) {
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

  private admit(address: string | undefined): boolean | Promise<boolean> {
    return this.admitCount(address) && this.admitAddress(address);
  }

  private admitCount(address: string | undefined): boolean {
    return this.open < this.limits.maxConnections || this.refuse('mqtt_connections', address);
  }

  /** The per-address connection rate, for a connection whose client address is known only now. */
  admitAddress(address: string | undefined): boolean | Promise<boolean> {
    const exempt = !this.limits.loginFailures.limitLoopback && isLoopback(address);
    if (exempt) return true;
    const ok = this.perAddress(address);
    if (ok instanceof Promise) return ok.then((yes) => yes || this.refuse('mqtt_connect_rate', address));
    return ok || this.refuse('mqtt_connect_rate', address);
  }

  private refuse(limit: string, address: string | undefined): false {
    this.metrics.limited.inc({ limit });
    this.log.debug({ remote: address, limit, open: this.open }, 'connection refused by a limit');
    return false;
  }
}

/** What a throttle needs of a connection: to stop reading it, and to know when it is gone. */
export interface ThrottledConnection {
  /** Stops reading the connection until the function returned is called. */
  hold(): () => void;
  readonly closed: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** Buckets a throttle spends; `refused` false says a missing token is on its way rather than spent (a lease). */
export type ThrottleLimiter = Pick<KeyedRateLimiter, 'take' | 'waitMs'> & { refused?(key: string): boolean };

interface Turns {
  waiting: ((go: boolean) => void)[];
  timer: NodeJS.Timeout | undefined;
  release: () => void;
  onClose: () => void;
}

/**
 * Actions per client (publishes, refused subscriptions) as a token bucket. An action over the
 * rate is not refused: it waits for a token, in arrival order [MQTT-4.6.0-6], and its
 * connection is not read meanwhile, so TCP pushes back on the sender and nothing it sent is
 * lost. The bucket belongs to the client id, so reconnecting earns no new burst; what waits
 * belongs to the connection, so when it closes its waiting actions are dropped at once and a
 * new connection of the same client is not queued behind them. What waits is bounded by one
 * read of one connection: the connection is not read while anything of it waits.
 */
export class ClientThrottle {
  private readonly limiter: ThrottleLimiter;
  private readonly turns = new Map<ThrottledConnection, Turns>();
  private closed = false;

  constructor(
    opts: { ratePerSecond: number; burst: number },
    clock: Clock,
    /** Called for each action that has to wait. */
    private readonly onLimited: () => void,
    /** The buckets counted elsewhere (leased from Redis across a cluster); by default in this process. */
    limiter?: ThrottleLimiter,
  ) {
    this.limiter = limiter ?? new KeyedRateLimiter(opts, clock);
  }

  /**
   * Undefined when `clientId` may act now (the common case: no promise). Otherwise a promise of
   * true when its turn comes, or false when its connection closed first (or the throttle did).
   */
  acquire(clientId: string, conn: ThrottledConnection): Promise<boolean> | undefined {
    const turns = this.turns.get(conn);
    if (!turns && this.limiter.take(clientId)) return undefined;
    if (this.closed || conn.closed) return Promise.resolve(false);
    if (this.limiter.refused?.(clientId) ?? true) this.onLimited();
    return new Promise<boolean>((resolve) => {
      if (turns) return void turns.waiting.push(resolve);
      const fresh: Turns = { waiting: [resolve], timer: undefined, release: conn.hold(), onClose: () => this.drop(conn) };
      this.turns.set(conn, fresh);
      conn.once('close', fresh.onClose);
      this.schedule(clientId, conn, fresh);
    });
  }

  /** Actions waiting now, across connections. */
  get waiting(): number {
    let n = 0;
    for (const t of this.turns.values()) n += t.waiting.length;
    return n;
  }

  /** Drops whatever waits (the broker is closing). */
  close(): void {
    this.closed = true;
    for (const conn of [...this.turns.keys()]) this.drop(conn);
  }

  private drop(conn: ThrottledConnection): void {
    const turns = this.turns.get(conn);
    if (!turns) return;
    this.turns.delete(conn);
    clearTimeout(turns.timer);
    conn.off('close', turns.onClose);
    for (const go of turns.waiting.splice(0)) go(false);
    turns.release();
  }

  private schedule(clientId: string, conn: ThrottledConnection, turns: Turns): void {
    const wait = Math.min(MAX_RECHECK_MS, Math.max(1, this.limiter.waitMs(clientId)));
    turns.timer = setTimeout(() => this.next(clientId, conn, turns), wait);
    turns.timer.unref();
  }

  private next(clientId: string, conn: ThrottledConnection, turns: Turns): void {
    if (this.turns.get(conn) !== turns) return;
    while (turns.waiting.length > 0 && this.limiter.take(clientId)) turns.waiting.shift()!(true);
    if (turns.waiting.length > 0) return this.schedule(clientId, conn, turns);
    this.turns.delete(conn);
    conn.off('close', turns.onClose);
    turns.release();
  }
}
