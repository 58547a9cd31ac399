/**
 * Who may send on HTTP ingest: the ingest token (`swi_...`) of a department's system that is
 * still provisioned, within its rate. An admin or unit token is answered 403 (it is valid, but
 * not for this), anything else 401; failed ingest tokens count against the address like any
 * failed login.
 */
import type { FastifyRequest } from 'fastify';
import { hashApiToken, INGEST_TOKEN_PREFIX } from '../core/api-token.js';
import { DEFAULT_HTTP_INGEST_BURST, DEFAULT_HTTP_INGEST_RATE } from '../core/config.js';
import { StreetWatchError, swError } from '../core/errors.js';
import type { IngestTokenRecord } from '../core/ports.js';
import { KeyedRateLimiter, type LoginThrottle } from '../core/rate-limit.js';
import { bearerToken } from './auth.js';
import type { ApiContext, TokenLogin } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The ingest token a request of `ingest` access came with. */
    ingestToken?: IngestTokenRecord;
  }
}

export interface IngestAuthOptions extends ApiContext {
  login: TokenLogin;
  throttle: LoginThrottle;
}

export function ingestAuthenticator(opts: IngestAuthOptions): (req: FastifyRequest) => Promise<void> {
  const { state, metrics, throttle } = opts;
  const ratePerSecond = opts.httpIngest?.ratePerSecond ?? DEFAULT_HTTP_INGEST_RATE;
  // One bucket per token (bounded by DEFAULT_RATE_LIMIT_KEYS, least recently used out).
  const limiter = new KeyedRateLimiter({ ratePerSecond, burst: opts.httpIngest?.burst ?? DEFAULT_HTTP_INGEST_BURST }, opts.clock);
  const refused = (wait: number, why: string): StreetWatchError => {
    const retryAfterSeconds = Math.max(1, Math.ceil(wait / 1000));
    return new StreetWatchError('SW_ERR_RATE_LIMITED', [`${why}, retry in ${retryAfterSeconds} s`], { details: { retryAfterSeconds } });
  };

  return async (req) => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || !token.startsWith(INGEST_TOKEN_PREFIX)) {
      if (await opts.login(token, req.ip)) throw swError('SW_ERR_FORBIDDEN', 'send readings: use an ingest token');
      throw swError('SW_ERR_UNAUTHORIZED');
    }
    const wait = throttle.refusedFor(req.ip);
    if (wait > 0) {
      metrics.limited.inc({ limit: 'http_auth_failures' });
      throw refused(wait, 'too many failed logins from this address');
    }
    const record = await state.ingestTokens.findByHash(hashApiToken(token));
    if (!record || record.revokedAt !== null || !(await state.devices.get(record.deviceId))) {
      throttle.failed(req.ip);
      throw swError('SW_ERR_UNAUTHORIZED');
    }
    if (!limiter.take(record.id)) {
      metrics.limited.inc({ limit: 'http_ingest' });
      throw refused(limiter.waitMs(record.id), `this token sends more than ${ratePerSecond} batches a second`);
    }
    req.ingestToken = record;
  };
}
