import { createHash, randomBytes } from 'node:crypto';

/** Prefix of per-unit API tokens, so a leaked one is recognisable (secret scanners, logs). */
export const UNIT_TOKEN_PREFIX = 'swu_';

/** Prefix of read-only display tokens (a wall screen's), told apart from unit tokens at a glance. */
export const DISPLAY_TOKEN_PREFIX = 'swd_';

/** Prefix of department systems' ingest tokens (HTTP ingest). */
export const INGEST_TOKEN_PREFIX = 'swi_';

/** An ingest token: 256 random bits, stored like unit tokens (hashApiToken). */
export function generateIngestToken(): string {
  return `${INGEST_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** A per-unit API token: 256 random bits. */
export function generateUnitToken(): string {
  return `${UNIT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** A display token: 256 random bits, like a unit token. */
export function generateDisplayToken(): string {
  return `${DISPLAY_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * How unit tokens are stored and looked up (API, Open311 and the MQTT ticket feed). A plain
 * SHA-256 suffices here, unlike for passwords: the token is 256 random bits, so there is no
 * dictionary to try, and a fast hash lets every request find its token by an index lookup
 * instead of a scan of slow hashes.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
