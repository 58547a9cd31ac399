/**
 * What a consumer does when its handler fails, the same on every bus adapter: retriable errors
 * back off and try again; a record that can never succeed, or that failed too often, is parked
 * with its cause and the partition moves on. A failure of a service the handler needs (a store
 * down) is nobody's record's fault: the batch waits for the service, however long, and parks
 * nothing.
 */
import { StreetWatchError } from '../errors.js';

/**
 * - `unavailable`: a service is down or busy (SW_ERR_UNAVAILABLE, a refused connection, SQLite
 *   busy): wait and try again, without counting toward the limit.
 * - `retriable`: may succeed later (a lost optimistic-concurrency race, an error from outside the
 *   catalogue): try again, at most `maxAttempts` times in all.
 * - `permanent`: the record itself is at fault (`canRetry()` false, a constraint, a bug's
 *   TypeError): park it.
 */
export type FailureKind = 'unavailable' | 'retriable' | 'permanent';

/** Attempts a record gets before it is parked, unless its failure says the service is down. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** First and last wait before a failed batch is handed over again. */
export const RETRY_BACKOFF_MS = { min: 50, max: 5_000 } as const;

/** Node's codes for a network path that is down or refused: the service, not the record. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** SQLite result codes that say the database is busy, full or failing: the store, not the record. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM|CORRUPT|READONLY|NOTADB)/;
/** SQLite result codes that a particular write causes: retrying the same write fails the same way. */
const SQLITE_PERMANENT = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/;

/** How a failure of a handler (or of committing its batch) is treated. */
export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof StreetWatchError) {
    if (err.code === 'SW_ERR_UNAVAILABLE') return 'unavailable';
    return err.canRetry() ? 'retriable' : 'permanent';
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SQLITE_UNAVAILABLE.test(code)) return 'unavailable';
    if (SQLITE_PERMANENT.test(code)) return 'permanent';
  }
  // A programming error or malformed data met by code that trusted it: the same record fails
  // the same way every time.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return 'permanent';
  return 'retriable';
}

export interface FailurePolicy {
  /** Attempts before a retriable failure parks the record. Default DEFAULT_MAX_ATTEMPTS. */
  maxAttempts: number;
  /** Waits between attempts, doubled per failure from min up to max. Default RETRY_BACKOFF_MS. */
  backoffMs: { min: number; max: number };
  /** Default classifyFailure; adapters add what they know of their clients' errors. */
  classify: (err: unknown) => FailureKind;
}

export function failurePolicy(opts: Partial<FailurePolicy> = {}): FailurePolicy {
  return { maxAttempts: opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, backoffMs: opts.backoffMs ?? RETRY_BACKOFF_MS, classify: opts.classify ?? classifyFailure };
}

export interface DeliveryHooks<R> {
  /** Hands the records to the handler and commits them; rejects with the handler's or the commit's error. */
  process(records: R[]): Promise<void>;
  /** Sets one record aside with its cause and moves the group past it. */
  park(record: R, cause: unknown, attempts: number): Promise<void>;
  /** Waits before the next attempt; resolves false when the consumer must stop instead (closing, partition lost). */
  wait(ms: number): Promise<boolean>;
  /** Hears of every failure, before it is retried or its record parked. */
  onError(err: unknown, kind: FailureKind): void;
}

/**
 * Delivers records until each is processed or parked (true), or the consumer must stop (false:
 * nothing past the last commit is taken as done). The batch is tried whole while its failures
 * are retriable and fewer than `maxAttempts`; after a permanent failure, or too many, its records
 * are tried one by one, so that only the ones at fault are parked and the rest get through, in
 * order.
 */
export async function deliver<R>(records: R[], policy: FailurePolicy, hooks: DeliveryHooks<R>): Promise<boolean> {
  const whole = await attempt(records, policy, hooks);
  if (whole === 'done' || whole === 'stop') return whole === 'done';
  if (records.length === 1) return parkUntilDone(records[0]!, whole, policy, hooks);
  for (const record of records) {
    const one = await attempt([record], policy, hooks);
    if (one === 'stop') return false;
    if (one !== 'done') {
      // A record that failed alone is the one at fault; a failing park waits like a store that is down.
      if (!(await parkUntilDone(record, one, policy, hooks))) return false;
    }
  }
  return true;
}

interface GaveUp {
  cause: unknown;
  attempts: number;
}

async function attempt<R>(records: R[], policy: FailurePolicy, hooks: DeliveryHooks<R>): Promise<'done' | 'stop' | GaveUp> {
  let attempts = 0;
  let backoff = policy.backoffMs.min;
  for (;;) {
    try {
      await hooks.process(records);
      return 'done';
    } catch (err) {
      const kind = policy.classify(err);
      hooks.onError(err, kind);
      if (kind !== 'unavailable') attempts++;
      if (kind === 'permanent' || attempts >= policy.maxAttempts) return { cause: err, attempts };
      if (!(await hooks.wait(backoff))) return 'stop';
      backoff = Math.min(backoff * 2, policy.backoffMs.max);
    }
  }
}

async function parkUntilDone<R>(record: R, failed: GaveUp, policy: FailurePolicy, hooks: DeliveryHooks<R>): Promise<boolean> {
  let backoff = policy.backoffMs.min;
  for (;;) {
    try {
      await hooks.park(record, failed.cause, failed.attempts);
      return true;
    } catch (err) {
      hooks.onError(err, 'unavailable');
      if (!(await hooks.wait(backoff))) return false;
      backoff = Math.min(backoff * 2, policy.backoffMs.max);
    }
  }
}

/** What a parked record keeps of its cause: a catalogue code, and the message. */
export function parkedCause(err: unknown): { code: string; message: string } {
  if (err instanceof StreetWatchError) return { code: err.code, message: err.message.slice(0, MAX_CAUSE_CHARS) };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { code: 'SW_ERR_INTERNAL', message: message.slice(0, MAX_CAUSE_CHARS) };
}

/** A cause longer than this is cut: a parked record must not cost more than the record. */
const MAX_CAUSE_CHARS = 2_000;
