import { createHash, timingSafeEqual } from 'node:crypto';
import { unitById } from '../core/tickets/units.js';
import type { CityIndex } from '../core/city-index.js';
import type { ApiTokenStore } from '../core/ports.js';
import { hashApiToken, tokenKindOf } from '../core/api-token.js';
import { ensureTokenFile } from '../core/token-file.js';
import type { ApiPrincipal } from './context.js';

export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * The admin token: the configured one, else the one kept in the data dir, else a new one
 * written there (mode 0600). Returns where it came from so start-up can say so.
 */
export function ensureAdminToken(configured: string | undefined, dataDir: string): { token: string; file: string | undefined } {
  return ensureTokenFile(configured, dataDir, ADMIN_TOKEN_FILE, 'swa_');
}

/** A token compared in constant time: both sides are hashed first, so lengths never leak. */
export class TokenMatcher {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.digest);
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** User name and password of `Authorization: Basic <base64>` (RFC 7617), if well-formed. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = header && /^Basic ([A-Za-z0-9+/]{1,700}={0,2})$/.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon <= 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The token in `Authorization: Bearer <token>`, if well-formed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
  return m?.[1];
}

/**
 * Who a bearer token belongs to: the admin token, else an API token that is not revoked, whose
 * kind matches its prefix, and whose unit (or department) still exists in the city
 * configuration; undefined otherwise.
 */
export function principalResolver(adminToken: string, tokens: ApiTokenStore, cityIndex: () => CityIndex): (token: string | undefined) => Promise<ApiPrincipal | undefined> {
  const admin = new TokenMatcher(adminToken);
  return async (token) => {
    if (token === undefined) return undefined;
    if (admin.matches(token)) return { role: 'admin' };
    const kind = tokenKindOf(token);
    if (kind === undefined) return undefined;
    const record = await tokens.findByHash(hashApiToken(token));
    const city = cityIndex();
    if (!record || record.kind !== kind || record.revokedAt !== null) return undefined;
    switch (kind) {
      case 'department':
        return city.city.departments.has(record.unitId) ? { role: 'department', department: record.unitId, tokenId: record.id } : undefined;
      case 'reporter':
        return { role: 'reporter', tokenId: record.id, label: record.label };
      case 'unit':
        return unitById(city, record.unitId) ? { role: 'unit', unitId: record.unitId, tokenId: record.id } : undefined;
      case 'display':
        if (!unitById(city, record.unitId)) return undefined;
        // The district center's wall shows its whole district: every sub-center is under it.
        return { role: 'display', unitId: record.unitId, tokenId: record.id, scope: record.unitId === city.city.district.id ? undefined : record.unitId };
    }
  };
}
