/**
 * The operator role: Node-RED flows that read the platform's normalized data and raise alerts
 * of their own. An operator client connects with client id `operator:{name}` (or
 * `operator:{name}:{suffix}` for several runtimes), username `operator:{name}` and the operator
 * token as password. It may subscribe to the feeds under `v1/operators/` and its own errors
 * topic, and publish only to its own alerts topic (see broker/operator-bridge.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { swError } from '../core/errors.js';
import { ensureTokenFile } from '../core/token-file.js';
import { OPERATOR_CITY_TOPIC } from '../core/topics.js';

export const OPERATOR_CLIENT_PREFIX = 'operator:';
/** Where a generated operator token is kept, beside the admin token. */
export const OPERATOR_TOKEN_FILE = 'operator-token';
const OPERATOR_CLIENT_RE = /^operator:([A-Za-z0-9][A-Za-z0-9_.-]{0,63})(?::[A-Za-z0-9_.-]{1,32})?$/;
/** The feeds an operator may subscribe to, with any filter below them. */
const FEEDS: ReadonlySet<string> = new Set(['readings', 'events', 'tickets']);

/** The operator token: configured, else kept in (or generated into) the data dir. */
export function ensureOperatorToken(configured: string | undefined, dataDir: string): { token: string; file: string | undefined } {
  return ensureTokenFile(configured, dataDir, OPERATOR_TOKEN_FILE, 'swo_');
}

/** The operator name of a client id, if it is an operator's. Device ids cannot contain ':'. */
export function operatorOfClientId(clientId: string): string | undefined {
  return OPERATOR_CLIENT_RE.exec(clientId)?.[1];
}

/**
 * Throws SW_ERR_BAD_CREDENTIALS unless the username names the client id's operator and the
 * password is the operator token. Both sides are hashed before the constant-time comparison, so
 * the token's length does not leak either.
 */
export async function checkOperatorCredentials(token: string | undefined, clientId: string, username: string | undefined, password: Buffer | undefined): Promise<void> {
  const name = operatorOfClientId(clientId);
  if (name === undefined) throw swError('SW_ERR_CLIENT_ID_INVALID', JSON.stringify(clientId.slice(0, 80)));
  if (!token || username !== `${OPERATOR_CLIENT_PREFIX}${name}` || !password || password.length === 0 || password.length > 512) {
    throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
  }
  const digest = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();
  if (!timingSafeEqual(digest(password), digest(token))) throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
}

/** An operator publishes only to `v1/operators/alerts/{its name}`, exactly. */
export function isOperatorAlertsTopic(operator: string, topic: string): boolean {
  const levels = topic.split('/');
  return levels.length === 4 && levels[0] === 'v1' && levels[1] === 'operators' && levels[2] === 'alerts' && levels[3] === operator;
}

/**
 * An operator subscribes to the feeds (`v1/operators/{readings|events|tickets}/...`, wildcards
 * allowed below the feed's level), the city (`v1/operators/city`) and its own errors topic.
 * The feed level itself must be literal: `v1/operators/+/...` or `#` would reach other
 * operators' alerts and errors.
 */
export function authorizeOperatorSubscribe(operator: string, filter: string): boolean {
  if (filter === OPERATOR_CITY_TOPIC) return true;
  const levels = filter.split('/');
  if (levels.length < 3 || levels[0] !== 'v1' || levels[1] !== 'operators') return false;
  const feed = levels[2]!;
  if (feed === 'errors') return levels.length === 4 && levels[3] === operator;
  if (!FEEDS.has(feed)) return false;
  // [MQTT-4.7.1-2] '#' only as the last level; [MQTT-4.7.1-3] '+' alone in its level.
  return levels.slice(3).every((l, i, rest) => (l === '#' ? i === rest.length - 1 : !l.includes('#') && (l === '+' || !l.includes('+'))));
}
