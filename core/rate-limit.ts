/**
 * Token buckets keyed by who is asking (a client address, a device id). Pure bookkeeping on a
 * `Clock`, no timers, so limits are tested by counting against a clock the test moves.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Clock } from './ports.js';

export interface RateLimitOptions {
  /** Tokens added per second, up to `burst`. */
  ratePerSecond: number;
  /** The most tokens a key holds: how many actions may come back to back. */
  burst: number;
  /** Keys remembered at most; beyond it the least recently used bucket is forgotten. */
  maxKeys?: number;
}

/** Buckets remembered by default: enough for every device of a large city. */
export const DEFAULT_RATE_LIMIT_KEYS = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One token bucket per key. A key starts full; a key not seen for a while is as good as full,
 * so forgetting it loses nothing. Memory is bounded by `maxKeys` whatever the keys are (they
 * come from the wire), and keys live in a `Map`, so no key can reach an object prototype.
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  private readonly perMs: number;

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly clock: Clock,
  ) {
    if (!(opts.ratePerSecond > 0) || !(opts.burst >= 1)) throw new RangeError('a rate limit needs a positive rate and a burst of at least 1');
    this.maxKeys = opts.maxKeys ?? DEFAULT_RATE_LIMIT_KEYS;
    this.perMs = opts.ratePerSecond / 1000;
  }

  /** Takes a token for `key`; false (and nothing taken) when it has none left. */
  take(key: string): boolean {
    const bucket = this.refill(key);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Whether `key` has a token, without taking it. */
  has(key: string): boolean {
    return this.available(key) >= 1;
  }

  /** Milliseconds until `key` has a token again (0 if it has one now). */
  waitMs(key: string): number {
    const tokens = this.available(key);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.perMs);
  }

  /** Keys currently remembered (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private available(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return this.opts.burst;
    return Math.min(this.opts.burst, bucket.tokens + Math.max(0, this.clock.now() - bucket.at) * this.perMs);
  }

  private refill(key: string): Bucket {
    const now = this.clock.now();
    let bucket = this.buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(this.opts.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.perMs);
      bucket.at = now;
      // Re-inserted so that the Map's order is least recently used first.
      this.buckets.delete(key);
    } else {
      if (this.buckets.size >= this.maxKeys) this.evict();
      bucket = { tokens: this.opts.burst, at: now };
    }
    this.buckets.set(key, bucket);
    return bucket;
  }

  /**
   * Forgets the least recently used key. Its bucket may not be full yet, so an attacker with
   * more than `maxKeys` addresses could reset its own limits: the limit bounds memory first.
   */
  private evict(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }
}

/**
 * The key an address is limited under: IPv4 as is (also when written as IPv4-mapped IPv6),
 * IPv6 by its /64, the block one subscriber usually gets, so that rotating through the
 * addresses of one's own network does not reset the limit.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address.slice(0, 64);
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((group) => (group.includes('.') ? group : (parseInt(group, 16) || 0).toString(16)));
}

/** Loopback clients: this host's own processes (the simulator, a local reverse proxy). */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (/^(::ffff:)?127\./i.test(address) || address === '::1');
}

export interface LoginThrottleOptions {
  /** Failed logins back to back. */
  burst: number;
  /** One more failure is tolerated per this many milliseconds. */
  refillMs: number;
  /** Whether loopback clients are limited too. */
  limitLoopback: boolean;
  maxKeys?: number;
}

/**
 * Failed logins per client address. An address with failures left may try; every failure
 * spends one; an address with none left is refused before its credentials are looked at, so
 * guessing costs no hashing, no store lookups and no log lines past the burst. A success costs
 * nothing. The same rules serve MQTT CONNECT and HTTP bearer tokens.
 */
export class LoginThrottle {
  private readonly limiter: KeyedRateLimiter;

  constructor(
    private readonly opts: LoginThrottleOptions,
    clock: Clock,
  ) {
    this.limiter = new KeyedRateLimiter({ ratePerSecond: 1000 / opts.refillMs, burst: opts.burst, maxKeys: opts.maxKeys ?? DEFAULT_RATE_LIMIT_KEYS }, clock);
  }

  /** Milliseconds until `address` may try again; 0 when it may try now. */
  refusedFor(address: string | undefined): number {
    if (this.exempt(address)) return 0;
    return this.limiter.waitMs(addressKey(address));
  }

  /** Records a failed login from `address`. */
  failed(address: string | undefined): void {
    if (!this.exempt(address)) this.limiter.take(addressKey(address));
  }

  private exempt(address: string | undefined): boolean {
    return !this.opts.limitLoopback && isLoopback(address);
  }
}
