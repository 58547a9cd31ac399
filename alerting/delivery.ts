/**
 * Webhook delivery from the durable outbox: signed POSTs, an Idempotency-Key per message,
 * exponential backoff with jitter, and a maximum age after which a message is given up (and
 * stays visible as failed). Woken by every ticket event and by a timer for retries. Several
 * instances may deliver from one outbox: each message is claimed with a lease first.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { CityIndex } from '../core/city-index.js';
import { DEFAULT_WEBHOOK_BACKOFF_MS, DEFAULT_WEBHOOK_MAX_BACKOFF_MS } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, Outbox, OutboxItem } from '../core/ports.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';
import { unitById } from '../core/tickets/units.js';

/** Tunables of webhook delivery. */
export interface DeliveryOptions {
  outbox: Outbox;
  bus: Bus;
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** How long one POST may take. Default DEFAULT_DELIVERY_TIMEOUT_MS. */
  timeoutMs?: number;
  /** First retry delay; doubles per attempt up to maxBackoffMs. Default DEFAULT_BACKOFF_MS. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A message older than this is marked failed instead of retried. Default DEFAULT_MAX_AGE_MS. */
  maxAgeMs?: number;
  /** How often due retries are looked for. Default DEFAULT_POLL_MS. */
  pollMs?: number;
  /** How long a claimed message is reserved for this instance. Default DEFAULT_DELIVERY_LEASE_MS. */
  leaseMs?: number;
  /** This instance's name in claims. Default: host, pid and a random suffix. */
  owner?: string;
}

export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
export const DEFAULT_BACKOFF_MS = DEFAULT_WEBHOOK_BACKOFF_MS;
export const DEFAULT_MAX_BACKOFF_MS = DEFAULT_WEBHOOK_MAX_BACKOFF_MS;
export const DEFAULT_MAX_AGE_MS = 24 * 3_600_000;
export const DEFAULT_POLL_MS = 1_000;
/** Several POST timeouts: a live worker always finishes a message before its lease ends. */
export const DEFAULT_DELIVERY_LEASE_MS = 60_000;
/** Messages sent concurrently per round. */
const ROUND_SIZE = 32;

export interface Delivery {
  /** Looks for due messages now. */
  kick(): void;
  /** Sends every message due now; resolves with how many were delivered. */
  runOnce(): Promise<number>;
  close(): Promise<void>;
}

export function backoffDelay(attempts: number, base: number, max: number, random: () => number = Math.random): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempts - 1));
  // Full jitter between half and the whole delay: retries of many messages spread out.
  return Math.round(exp / 2 + random() * (exp / 2));
}

export async function startDelivery(opts: DeliveryOptions): Promise<Delivery> {
  const { outbox, clock, metrics } = opts;
  const log = opts.logger.child({ stage: 'delivery' });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const backoff = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
  const maxBackoff = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const maxAge = opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const leaseMs = opts.leaseMs ?? DEFAULT_DELIVERY_LEASE_MS;
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let running: Promise<number> | undefined;
  let again = false;
  let closed = false;

  /** True when delivered. */
  async function deliver(item: OutboxItem): Promise<boolean> {
    const target = unitById(opts.cityIndex(), item.subcenterId);
    const attempts = item.attempts + 1;
    if (!target?.webhook || !target.secret) {
      await outbox.markFailed(item.id, attempts, null, 'the unit has no webhook and secret configured');
      metrics.deliveries.inc({ outcome: 'dropped' });
      return false;
    }
    // Stale news is worse than none: a receiver back after a long outage gets no day-old alarms.
    if (clock.now() - item.createdAt >= maxAge) {
      await outbox.markFailed(item.id, item.attempts, null, `expired: not delivered within ${maxAge} ms`);
      metrics.deliveries.inc({ outcome: 'expired' });
      return false;
    }
    let error: string;
    try {
      const res = await fetch(target.webhook, {
        method: 'POST',
        body: item.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'StreetWatch-Webhook/1',
          'idempotency-key': item.id,
          'x-streetwatch-event': item.event,
          'x-streetwatch-attempt': String(attempts),
          [SIGNATURE_HEADER]: signBody(item.body, target.secret),
        },
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) {
        await outbox.markDelivered(item.id, clock.now());
        metrics.deliveries.inc({ outcome: 'delivered' });
        return true;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      error = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`;
    }
    const now = clock.now();
    const giveUp = now - item.createdAt >= maxAge;
    await outbox.markFailed(item.id, attempts, giveUp ? null : now + backoffDelay(attempts, backoff, maxBackoff), giveUp ? `expired after: ${error}` : error);
    metrics.deliveries.inc({ outcome: giveUp ? 'expired' : 'retry' });
    log.warn({ id: item.id, subcenterId: item.subcenterId, attempts, error, giveUp }, 'webhook delivery failed');
    return false;
  }

  async function drain(): Promise<number> {
    let delivered = 0;
    do {
      again = false;
      for (;;) {
        const due = await outbox.claim(clock.now(), ROUND_SIZE, owner, leaseMs);
        if (due.length === 0 || closed) break;
        const results = await Promise.all(
          due.map((item) =>
            deliver(item).catch((err: unknown) => {
              // The lease runs out and the message is claimed again.
              log.error({ err, id: item.id }, 'delivery bookkeeping failed');
              return false;
            }),
          ),
        );
        delivered += results.filter(Boolean).length;
      }
    } while (again && !closed);
    return delivered;
  }

  function runOnce(): Promise<number> {
    const next: Promise<number> = (running ?? Promise.resolve(0)).catch(() => 0).then(() => (closed ? 0 : drain()));
    running = next;
    return next.finally(() => {
      if (running === next) running = undefined;
    });
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    runOnce().catch((err: unknown) => log.error({ err }, 'delivery round failed'));
  }

  // The handler only wakes the worker: a slow receiver must never hold up the pipeline.
  const sub = await opts.bus.subscribe('sw.tickets', 'delivery', async () => kick());
  const timer = setInterval(kick, opts.pollMs ?? DEFAULT_POLL_MS);
  timer.unref();
  kick();

  return {
    kick,
    runOnce,
    async close() {
      closed = true;
      clearInterval(timer);
      await sub.close();
      await running?.catch(() => undefined);
    },
  };
}
