/**
 * Webhook delivery from the durable outbox: signed POSTs, an Idempotency-Key per message,
 * exponential backoff with jitter, and a maximum age after which a message is given up (and
 * stays visible as failed). Woken by every ticket event and by a timer for retries.
 */
import type { CityIndex } from '../core/city-index.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, Outbox, OutboxItem } from '../core/ports.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';

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
}

export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
export const DEFAULT_BACKOFF_MS = 1_000;
export const DEFAULT_MAX_BACKOFF_MS = 10 * 60_000;
export const DEFAULT_MAX_AGE_MS = 24 * 3_600_000;
export const DEFAULT_POLL_MS = 1_000;
/** Messages sent concurrently per round. */
const ROUND_SIZE = 32;

export interface Delivery {
  /** Looks for due messages now. */
  kick(): void;
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
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  async function deliver(item: OutboxItem): Promise<void> {
    const subcenter = opts.cityIndex().subcenterById.get(item.subcenterId);
    const attempts = item.attempts + 1;
    if (!subcenter?.webhook || !subcenter.secret) {
      await outbox.markFailed(item.id, attempts, null, 'the sub-center has no webhook and secret configured');
      metrics.deliveries.inc({ outcome: 'dropped' });
      return;
    }
    let error: string;
    try {
      const res = await fetch(subcenter.webhook, {
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
          [SIGNATURE_HEADER]: signBody(item.body, subcenter.secret),
        },
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) {
        await outbox.markDelivered(item.id, clock.now());
        metrics.deliveries.inc({ outcome: 'delivered' });
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (err as Error).message;
    }
    const now = clock.now();
    const giveUp = now - item.createdAt >= maxAge;
    await outbox.markFailed(item.id, attempts, giveUp ? null : now + backoffDelay(attempts, backoff, maxBackoff), error);
    metrics.deliveries.inc({ outcome: giveUp ? 'expired' : 'retry' });
    log.warn({ id: item.id, subcenterId: item.subcenterId, attempts, error, giveUp }, 'webhook delivery failed');
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      for (;;) {
        const due = await outbox.due(clock.now(), ROUND_SIZE);
        if (due.length === 0 || closed) break;
        await Promise.all(due.map((item) => deliver(item).catch((err: unknown) => log.error({ err, id: item.id }, 'delivery bookkeeping failed'))));
      }
    } while (again && !closed);
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((err: unknown) => log.error({ err }, 'delivery round failed'))
      .finally(() => {
        running = undefined;
      });
  }

  // The handler only wakes the worker: a slow receiver must never hold up the pipeline.
  const sub = await opts.bus.subscribe('sw.tickets', 'delivery', async () => kick());
  const timer = setInterval(kick, opts.pollMs ?? DEFAULT_POLL_MS);
  timer.unref();
  kick();

  return {
    kick,
    async close() {
      closed = true;
      clearInterval(timer);
      await sub.close();
      await running;
    },
  };
}
