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
  return generateToken('unit');
}

/** A display token: 256 random bits, like a unit token. */
export function generateDisplayToken(): string {
  return generateToken('display');
}

/** Prefixes of department tokens and reporter keys: what a token is shows at a glance. */
export const DEPARTMENT_TOKEN_PREFIX = 'swdep_';
export const REPORTER_TOKEN_PREFIX = 'swrep_';

const PREFIXES = { unit: UNIT_TOKEN_PREFIX, display: DISPLAY_TOKEN_PREFIX, department: DEPARTMENT_TOKEN_PREFIX, reporter: REPORTER_TOKEN_PREFIX } as const;
export type TokenKind = keyof typeof PREFIXES;

/** A token of a kind: 256 random bits after the kind's prefix. */
export function generateToken(kind: TokenKind): string {
  return `${PREFIXES[kind]}${randomBytes(32).toString('base64url')}`;
}

/** The kind a token's prefix names; undefined for a string that is no API token. */
export function tokenKindOf(token: string): TokenKind | undefined {
  // Longest prefixes first: none is a prefix of another, but the order keeps it so.
  for (const kind of ['department', 'reporter', 'display', 'unit'] as const) if (token.startsWith(PREFIXES[kind])) return kind;
  return undefined;
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
