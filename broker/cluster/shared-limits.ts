/**
 * The broker's address limits held in Redis, so that every node of a cluster counts the same
 * bucket: the per-address connection rate (MQTT_CONNECT_RATE) and the login-failure lockout.
 * Behind HAProxy one address's connections are spread over the nodes; counted per node, it
 * would get N times the limit.
 *
 * One token bucket per (limit, address) is one Redis hash, changed by one Lua script (atomic,
 * on Redis' own clock, so the nodes' clocks need not agree). Each key expires once its bucket
 * would be full again (burst ÷ rate), when it is as good as absent: Redis holds at most one key
 * per address seen within that time. Addresses are hashed in keys, never written in clear.
 *
 * When Redis does not answer (down, or slower than SHARED_LIMIT_TIMEOUT_MS), each decision
 * falls back to this node's own bucket for that address: the node keeps its own limit, as an
 * embedded broker would, rather than admitting everyone (fail-open would lift the login
 * lockout for as long as Redis is away) or nobody (an outage of Redis would lock every device
 * out). During an outage one address gets up to N times the limit, as before clustering.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { Clock } from '../../core/ports.js';
import { DEFAULT_RATE_LIMIT_KEYS, KeyedRateLimiter, addressKey, isLoopback, type LoginThrottleOptions } from '../../core/rate-limit.js';

/** How long a limit decision waits for Redis before this node decides alone: a CONNECT waits this at most. */
export const SHARED_LIMIT_TIMEOUT_MS = 250;
/** Asks for a lease's worth of tokens (see `leaseOf`). */
const LEASE = -1;
/**
 * Tokens a node takes from a shared bucket at once for the publish rate: a tenth of a second's
 * worth, so one Redis round trip serves several publishes, and never more than a tenth of the
 * burst, so what a node holds unused when its device moves away is little.
 */
export function leaseOf(rate: { ratePerSecond: number; burst: number }): number {
  return Math.max(1, Math.min(Math.ceil(rate.ratePerSecond / 10), Math.floor(rate.burst / 10)));
}

/** At most one warning per this many milliseconds while Redis is away (each decision would log otherwise). */
const WARN_EVERY_MS = 10_000;

/**
 * KEYS[1]: the bucket. ARGV: tokens per millisecond, burst, tokens wanted (0 looks only).
 * Returns {tokens taken (as many as there are, up to those wanted), milliseconds until a token is there}.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
if n > 0 and tokens >= 1 then
  taken = math.min(n, math.floor(tokens))
  tokens = tokens - taken
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1)
end
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) / rate) end
return {taken, wait}`;

export interface SharedBucketsOptions {
  url: string;
  /** Prefix of the keys (the deployment's namespace and the broker's own). */
  prefix: string;
  metrics: Metrics;
  logger: Logger;
  timeoutMs?: number;
}

/** Token buckets in Redis, each with this node's own bucket to fall back on. */
export class SharedBuckets {
  private readonly redis: Redis;
  private readonly timeoutMs: number;
  private warnedAt = -Infinity;

  constructor(private readonly opts: SharedBucketsOptions) {
    this.timeoutMs = opts.timeoutMs ?? SHARED_LIMIT_TIMEOUT_MS;
    // No offline queue and no retries: a decision that cannot reach Redis now is taken locally
    // now, not queued behind an outage.
    this.redis = new Redis(opts.url, { connectionName: 'streetwatch-broker-limits', enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: this.timeoutMs, keyPrefix: opts.prefix });
    this.redis.on('error', () => undefined);
  }

  /**
   * One limit: `take` spends a token of a key's bucket, `waitMs` says how long until it has one
   * (0: it has one now). Keys are hashed before they reach Redis.
   */
  bucket(name: string, rate: { ratePerSecond: number; burst: number }, local: KeyedRateLimiter) {
    const perMs = rate.ratePerSecond / 1000;
    const keyOf = (key: string): string => `limit:${name}:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`;
    const call = async (key: string, n: number): Promise<[number, number] | undefined> => {
      if (n === LEASE) n = leaseOf(rate);
      try {
        return (await this.redis.eval(TAKE, 1, keyOf(key), perMs, rate.burst, n)) as [number, number];
      } catch (err) {
        this.fellBack(name, err);
        return undefined;
      }
    };
    return {
      take: async (key: string): Promise<boolean> => {
        const got = await call(key, 1);
        return got ? got[0] === 1 : local.take(key);
      },
      /** Up to a lease's worth of tokens (0: none now), and milliseconds until there is one. */
      lease: async (key: string): Promise<{ tokens: number; waitMs: number }> => {
        const got = await call(key, LEASE);
        if (got) return { tokens: got[0], waitMs: got[1] };
        return local.take(key) ? { tokens: 1, waitMs: 0 } : { tokens: 0, waitMs: local.waitMs(key) };
      },
      waitMs: async (key: string): Promise<number> => {
        const got = await call(key, 0);
        return got ? got[1] : local.waitMs(key);
      },
    };
  }

  /** Resolves once the connection to Redis is up (until then, and whenever it is down, nodes decide alone). */
  async connected(): Promise<void> {
    if (this.redis.status !== 'ready') await new Promise((resolve) => this.redis.once('ready', resolve));
  }

  private fellBack(limit: string, err: unknown): void {
    this.opts.metrics.limitFallbacks.inc({ limit });
    const now = Date.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.opts.logger.warn({ limit, err: (err as Error).message }, 'Redis did not answer a limit decision: this node decides alone until it does');
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** How failed logins are counted: what the connect path asks. */
export interface LoginLimiter {
  /** Milliseconds until `address` may try again; 0 when it may try now. */
  refusedFor(address: string | undefined): number | Promise<number>;
  /** Records a failed login from `address`. */
  failed(address: string | undefined): void | Promise<void>;
}

/** The login-failure lockout of LoginThrottle (same rules), counted in Redis across the nodes. */
export function sharedLoginThrottle(buckets: SharedBuckets, opts: LoginThrottleOptions, clock: Clock): LoginLimiter {
  const rate = { ratePerSecond: 1000 / opts.refillMs, burst: opts.burst };
  const bucket = buckets.bucket('login', rate, new KeyedRateLimiter(rate, clock));
  const exempt = (address: string | undefined): boolean => !opts.limitLoopback && isLoopback(address);
  return {
    refusedFor: (address) => (exempt(address) ? 0 : bucket.waitMs(addressKey(address))),
    async failed(address) {
      if (!exempt(address)) await bucket.take(addressKey(address));
    },
  };
}

/** The per-address connection rate, counted in Redis across the nodes. */
export function sharedConnectRate(buckets: SharedBuckets, rate: { ratePerSecond: number; burst: number }, clock: Clock): (address: string | undefined) => Promise<boolean> {
  const bucket = buckets.bucket('connect', rate, new KeyedRateLimiter(rate, clock));
  return (address) => bucket.take(addressKey(address));
}

/** How soon a publish waiting for a lease looks again, while the lease is on its way. */
const LEASE_POLL_MS = 2;

/**
 * The per-client publish rate of a clustered broker: one bucket per client id in Redis, from
 * which the node a client is connected to leases a few tokens at a time (`leaseOf`) and spends
 * them locally, so most publishes cost no round trip. A device sits on one node at a time; when
 * it moves (takeover), what the old node leased and did not spend is lost with it: the device
 * gets fewer publishes for that, never more, and its bucket goes on in Redis, so reconnecting
 * to another node earns no new burst. Synchronous, as ClientThrottle asks: a client with no
 * leased token waits while a lease is fetched.
 */
export class LeasedRateLimiter {
  private readonly held = new Map<string, number>();
  private readonly fetching = new Map<string, Promise<void>>();
  private readonly waits = new Map<string, number>();
  private readonly bucket: ReturnType<SharedBuckets['bucket']>;

  constructor(
    buckets: SharedBuckets,
    rate: { ratePerSecond: number; burst: number },
    clock: Clock,
    /** Called when a lease comes back empty: the client waits for its rate (about once per action that waits). */
    private readonly onRefused: () => void,
    private readonly maxKeys = DEFAULT_RATE_LIMIT_KEYS,
  ) {
    this.bucket = buckets.bucket('publish', rate, new KeyedRateLimiter(rate, clock));
  }

  take(key: string): boolean {
    const tokens = this.held.get(key) ?? 0;
    if (tokens >= 1) {
      this.held.set(key, tokens - 1);
      return true;
    }
    this.fetch(key);
    return false;
  }

  /** Never here: a missing token may be on its way; `onRefused` counts the leases that came back empty. */
  refused(): boolean {
    return false;
  }

  waitMs(key: string): number {
    if ((this.held.get(key) ?? 0) >= 1) return 0;
    if (this.fetching.has(key)) return LEASE_POLL_MS;
    return this.waits.get(key) ?? LEASE_POLL_MS;
  }

  private fetch(key: string): void {
    if (this.fetching.has(key)) return;
    const done = this.bucket.lease(key).then(({ tokens, waitMs }) => {
      this.fetching.delete(key);
      // Least recently leased first: past maxKeys the oldest holdings are forgotten (and lost).
      this.held.delete(key);
      this.waits.delete(key);
      if (this.held.size >= this.maxKeys) this.held.delete(this.held.keys().next().value!);
      if (this.waits.size >= this.maxKeys) this.waits.delete(this.waits.keys().next().value!);
      if (tokens > 0) this.held.set(key, tokens);
      else {
        this.waits.set(key, Math.max(LEASE_POLL_MS, waitMs));
        this.onRefused();
      }
    });
    this.fetching.set(key, done);
  }
}
