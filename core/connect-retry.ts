/**
 * Connecting to a service that may not be up yet (Kafka, InfluxDB, Redis): try, log one clear
 * line naming the service and where it was looked for, wait with exponential backoff and
 * jitter, try again. A process that cannot reach its services keeps running and says so,
 * instead of exiting and being restarted in a silent crash loop.
 */
import { StreetWatchError } from './errors.js';
import type { Logger } from './logger.js';

/** First and longest wait between connection attempts. */
export const DEFAULT_CONNECT_BACKOFF_MS = { min: 500, max: 30_000 } as const;

export interface ConnectRetryOptions {
  logger: Logger;
  /** Aborting stops the retries; the call then rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Waits between attempts. Default DEFAULT_CONNECT_BACKOFF_MS. */
  backoffMs?: { min: number; max: number };
  /** Source of jitter, for tests. */
  random?: () => number;
}

/**
 * Calls `connect` until it resolves, or until it fails with a catalogued error that is not
 * retriable. `service` and `target` name what is being reached
 * (`Kafka`, `127.0.0.1:9092`); the target must not hold credentials (see redactUrl).
 */
export async function connectWithRetry(service: string, target: string, connect: () => Promise<void>, opts: ConnectRetryOptions): Promise<void> {
  const { logger, signal } = opts;
  const { min, max } = opts.backoffMs ?? DEFAULT_CONNECT_BACKOFF_MS;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      await connect();
      logger.info({ service, target, attempt }, `connected to ${service} at ${target}`);
      return;
    } catch (failure) {
      signal?.throwIfAborted();
      // A refusal that waiting cannot change (a schema newer than this code) ends start-up now.
      if (failure instanceof StreetWatchError && !failure.canRetry()) throw failure;
      // The client's own words (ECONNREFUSED, a TLS or auth error), not our wrapper's.
      const err = failure instanceof StreetWatchError && failure.cause !== undefined ? failure.cause : failure;
      const exp = Math.min(max, min * 2 ** (attempt - 1));
      // Jitter keeps a fleet of restarted processes from reconnecting in lockstep.
      const waitMs = Math.round(exp / 2 + random() * (exp / 2));
      logger.warn(
        { service, target, attempt, retryInMs: waitMs, err: errorMessage(err) },
        `${service} at ${target} is unreachable (${errorMessage(err)}); retrying in ${(waitMs / 1000).toFixed(1)} s`,
      );
      await sleep(waitMs, signal);
    }
  }
}

/** A URL fit for logs: user and password removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}

/** Wraps a client error as the retriable SW_ERR_UNAVAILABLE, keeping catalogued errors as they are. */
export function unavailable(service: string, err: unknown): StreetWatchError {
  if (err instanceof StreetWatchError) return err;
  return new StreetWatchError('SW_ERR_UNAVAILABLE', [service, errorMessage(err)], { cause: err });
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorMessage(err.errors[0]);
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
