/**
 * Webhook delivery from the durable outbox: signed POSTs, an Idempotency-Key per message,
 * exponential backoff with jitter, and a maximum age after which a message is given up (and
 * stays visible as failed). One queue per unit: each unit's messages are claimed and sent by a
 * lane of their own, with its own circuit breaker, so a unit whose receiver hangs or fails
 * delays only itself. Woken by every ticket save of this process that writes messages, by every
 * ticket event (the saves of other processes) and by a timer for retries. Several
 * instances may deliver from one outbox: messages are claimed per unit with a lease first.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { CityIndex } from '../core/city-index.js';
import { DEFAULT_WEBHOOK_BACKOFF_MS, DEFAULT_WEBHOOK_BREAKER_FAILURES, DEFAULT_WEBHOOK_BREAKER_OPEN_MS, DEFAULT_WEBHOOK_MAX_BACKOFF_MS } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, Outbox, OutboxItem } from '../core/ports.js';
import { postJson, PostTimeoutError } from './post.js';
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
  /** Failed attempts in a row after which a unit's circuit opens. Default DEFAULT_WEBHOOK_BREAKER_FAILURES. */
  breakerFailures?: number;
  /** How long an open circuit waits before its probe; doubles per failed probe up to maxBackoffMs. Default DEFAULT_WEBHOOK_BREAKER_OPEN_MS. */
  breakerOpenMs?: number;
  /** Messages one unit's lane sends at once. Default DEFAULT_UNIT_CONCURRENCY. */
  unitConcurrency?: number;
}

export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
export const DEFAULT_BACKOFF_MS = DEFAULT_WEBHOOK_BACKOFF_MS;
export const DEFAULT_MAX_BACKOFF_MS = DEFAULT_WEBHOOK_MAX_BACKOFF_MS;
export const DEFAULT_MAX_AGE_MS = 24 * 3_600_000;
export const DEFAULT_POLL_MS = 1_000;
/** Several POST timeouts: a live worker always finishes a message before its lease ends. */
export const DEFAULT_DELIVERY_LEASE_MS = 60_000;
/** A unit's receiver gets this many messages at once: enough for throughput, few enough to be polite. */
export const DEFAULT_UNIT_CONCURRENCY = 4;
/** Units looked at per scan of the outbox: every unit of a large district. */
const UNITS_PER_SCAN = 1_000;

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

/**
 * A unit's circuit: closed (sending), open after `breakerFailures` failed attempts in a row (no
 * attempt until `openUntil`), then half-open (one probe at a time): a success closes it, a
 * failure opens it again for twice as long, up to the longest backoff.
 */
interface Lane {
  running: Promise<LaneResult> | undefined;
  /** Wakes a running lane that waits on messages in flight: new messages were written. */
  wake?: (() => void) | undefined;
  failures: number;
  openUntil: number;
  openMs: number;
}

interface LaneResult {
  attempts: number;
  delivered: number;
}

type Outcome = 'delivered' | 'failed' | 'given_up';

export async function startDelivery(opts: DeliveryOptions): Promise<Delivery> {
  const { outbox, clock, metrics } = opts;
  const log = opts.logger.child({ stage: 'delivery' });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const backoff = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
  const maxBackoff = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const maxAge = opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const leaseMs = opts.leaseMs ?? DEFAULT_DELIVERY_LEASE_MS;
  const breakerFailures = opts.breakerFailures ?? DEFAULT_WEBHOOK_BREAKER_FAILURES;
  const breakerOpenMs = opts.breakerOpenMs ?? DEFAULT_WEBHOOK_BREAKER_OPEN_MS;
  const concurrency = opts.unitConcurrency ?? DEFAULT_UNIT_CONCURRENCY;
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // One per unit with messages: units come from the city configuration, so the map is bounded by it.
  const lanes = new Map<string, Lane>();
  let scanning: Promise<void> | undefined;
  let again = false;
  let closed = false;

  async function deliver(item: OutboxItem): Promise<Outcome> {
    const target = unitById(opts.cityIndex(), item.subcenterId);
    const attempts = item.attempts + 1;
    if (!target?.webhook || !target.secret) {
      await outbox.markFailed(item.id, attempts, null, 'the unit has no webhook and secret configured');
      metrics.deliveries.inc({ outcome: 'dropped' });
      return 'given_up';
    }
    // Stale news is worse than none: a receiver back after a long outage gets no day-old alarms.
    if (clock.now() - item.createdAt >= maxAge) {
      await outbox.markFailed(item.id, item.attempts, null, `expired: not delivered within ${maxAge} ms`);
      metrics.deliveries.inc({ outcome: 'expired' });
      return 'given_up';
    }
    let error: string;
    try {
      // A redirect is an answer like any other that is not 2xx: it is not followed.
      const status = await postJson(
        target.webhook,
        item.body,
        {
          'content-type': 'application/json',
          'user-agent': 'StreetWatch-Webhook/1',
          'idempotency-key': item.id,
          'x-streetwatch-event': item.event,
          'x-streetwatch-attempt': String(attempts),
          [SIGNATURE_HEADER]: signBody(item.body, target.secret),
        },
        timeoutMs,
      );
      if (status >= 200 && status < 300) {
        await outbox.markDelivered(item.id, clock.now());
        metrics.deliveries.inc({ outcome: 'delivered' });
        return 'delivered';
      }
      error = `HTTP ${status}`;
    } catch (err) {
      const e = err as Error & { code?: string };
      error = e instanceof PostTimeoutError || !e.code || e.message.includes(e.code) ? e.message : `${e.message} (${e.code})`;
    }
    const now = clock.now();
    const giveUp = now - item.createdAt >= maxAge;
    await outbox.markFailed(item.id, attempts, giveUp ? null : now + backoffDelay(attempts, backoff, maxBackoff), giveUp ? `expired after: ${error}` : error);
    metrics.deliveries.inc({ outcome: giveUp ? 'expired' : 'retry' });
    log.warn({ id: item.id, subcenterId: item.subcenterId, attempts, error, giveUp }, 'webhook delivery failed');
    return 'failed';
  }

  function laneOf(unit: string): Lane {
    let lane = lanes.get(unit);
    if (!lane) lanes.set(unit, (lane = { running: undefined, failures: 0, openUntil: 0, openMs: breakerOpenMs }));
    return lane;
  }

  /** Records what an attempt told about the unit's receiver; true when the circuit is (now) open. */
  function observe(unit: string, lane: Lane, outcome: Outcome, probing: boolean): boolean {
    if (outcome === 'delivered') {
      if (lane.failures >= breakerFailures) log.info({ subcenterId: unit }, 'webhook circuit closed: the receiver answers again');
      lane.failures = 0;
      lane.openMs = breakerOpenMs;
      metrics.webhookCircuitOpen.set({ unit }, 0);
      return false;
    }
    if (outcome !== 'failed') return false;
    lane.failures++;
    if (lane.failures < breakerFailures) return false;
    if (probing) lane.openMs = Math.min(lane.openMs * 2, Math.max(breakerOpenMs, maxBackoff));
    lane.openUntil = clock.now() + lane.openMs;
    metrics.webhookCircuitOpen.set({ unit }, 1);
    log.warn({ subcenterId: unit, failures: lane.failures, retryInMs: lane.openMs }, 'webhook circuit open: the unit\'s messages wait');
    return true;
  }

  /**
   * Sends a unit's due messages, up to `concurrency` in flight (one while probing), claiming more
   * as each finishes or as the lane is woken, until none is due or its circuit opens.
   */
  async function work(unit: string, lane: Lane): Promise<LaneResult> {
    const result: LaneResult = { attempts: 0, delivered: 0 };
    const inflight = new Set<Promise<void>>();
    let drained = false;
    let open = false;
    while (!closed && !open) {
      const probing = lane.failures >= breakerFailures;
      if (probing && clock.now() < lane.openUntil) break;
      const room = (probing ? 1 : concurrency) - inflight.size;
      if (room > 0 && !drained) {
        const items = await outbox.claim(unit, clock.now(), room, owner, leaseMs);
        drained = items.length === 0;
        for (const item of items) {
          result.attempts++;
          const sending: Promise<void> = deliver(item)
            .catch((err: unknown): Outcome => {
              // The lease runs out and the message is claimed again.
              log.error({ err, id: item.id }, 'delivery bookkeeping failed');
              return 'given_up';
            })
            .then((o) => {
              if (o === 'delivered') result.delivered++;
              open = observe(unit, lane, o, probing) || open;
            })
            .finally(() => inflight.delete(sending));
          inflight.add(sending);
        }
        if (items.length > 0) continue;
      }
      if (inflight.size === 0) break;
      // A message finished, or new ones were written for this unit: look again.
      await Promise.race([...inflight, new Promise<void>((r) => (lane.wake = r))]);
      lane.wake = undefined;
      drained = false;
    }
    await Promise.all(inflight);
    return result;
  }

  /** The unit's lane: the one running, or a new one unless its circuit is open. */
  function startLane(unit: string): Promise<LaneResult> {
    const lane = laneOf(unit);
    if (lane.running) return lane.running;
    if (lane.failures >= breakerFailures && clock.now() < lane.openUntil) return Promise.resolve({ attempts: 0, delivered: 0 });
    const running = work(unit, lane).finally(() => {
      lane.running = undefined;
      if (lane.failures === 0) lanes.delete(unit);
    });
    lane.running = running;
    return running;
  }

  /** Starts a lane for every unit with due messages; a lane that did work looks again when it ends. */
  async function scan(): Promise<void> {
    do {
      again = false;
      for (const unit of await outbox.receiversDue(clock.now(), UNITS_PER_SCAN)) {
        if (closed) return;
        const lane = laneOf(unit);
        if (lane.running) {
          lane.wake?.();
          continue;
        }
        startLane(unit).then(
          (r) => {
            if (r.attempts > 0) kick();
          },
          (err: unknown) => log.error({ err, subcenterId: unit }, 'delivery lane failed'),
        );
      }
    } while (again && !closed);
  }

  function kick(): void {
    if (closed) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = scan()
      .catch((err: unknown) => log.error({ err }, 'delivery scan failed'))
      .finally(() => {
        scanning = undefined;
        // Woken after the scan's last look: it looks again.
        if (again) kick();
      });
  }

  async function runOnce(): Promise<number> {
    let delivered = 0;
    for (;;) {
      if (closed) return delivered;
      const units = await outbox.receiversDue(clock.now(), UNITS_PER_SCAN);
      const results = await Promise.all(units.map(startLane));
      delivered += results.reduce((n, r) => n + r.delivered, 0);
      if (results.every((r) => r.attempts === 0)) return delivered;
    }
  }

  // The handlers only wake the worker: a slow receiver must never hold up the pipeline. A save of
  // this process wakes it as it commits; one of another process, its announcement on the bus.
  const stopWatching = outbox.onWritten(kick);
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
      stopWatching();
      await sub.close();
      await scanning;
      await Promise.all([...lanes.values()].map((l) => l.running?.catch(() => undefined)));
    },
  };
}
