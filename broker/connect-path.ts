/**
 * What a CONNECT gets: the connection policy first (pure, connect-policy.ts), then who the
 * client is (a device by its hashed secret, a feed client by its unit's token, an operator by
 * the operator token), answered in the CONNACK with the 3.1.1 return code of the refusal.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import type { MqttLimits } from '../core/config.js';
import { StreetWatchError, swError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { ApiTokenStore, DeviceRegistry } from '../core/ports.js';
import { isValidClientId, principalOfClientId } from './acl.js';
import { applyConnectPolicy } from './connect-policy.js';
import type { LoginLimiter } from './cluster/shared-limits.js';
import { checkOperatorCredentials } from './operator.js';
import { quoteWire } from './sampled-log.js';
import { verifySecret } from '../core/secret-hash.js';
import { checkSubcenterCredentials } from './subcenter-feed.js';

/** Verified credentials remembered per process, so reconnects skip scrypt. */
const AUTH_CACHE_MAX = 100_000;

export interface ConnectPathOptions {
  limits: MqttLimits;
  devices: DeviceRegistry;
  tokens: ApiTokenStore | undefined;
  /** The operator token; without it no operator can connect. */
  operatorToken: string | undefined;
  /** Failed logins per address: this process's, or the cluster's in Redis. */
  loginThrottle: LoginLimiter;
  /** Where a client's connection comes from. */
  addressOf: (client: Client) => string | undefined;
  /** Whether another connection holds the client id now (a takeover follows). */
  isConnected: (clientId: string) => boolean;
  metrics: Metrics;
  logger: Logger;
}

export function connectPath(opts: ConnectPathOptions): Required<Pick<AedesOptions, 'preConnect' | 'authenticate'>> {
  const { limits, devices, loginThrottle, metrics, logger: log } = opts;
  const authCache = new Map<string, { secretHash: string; digest: Buffer }>();
  /** Reasons found in a CONNECT before authentication, answered in its CONNACK. */
  const refusals = new WeakMap<Client, StreetWatchError>();

  const preConnect: AedesOptions['preConnect'] = (client, packet, done) => {
    // [MQTT-1.5.3-2] a will topic with U+0000 is malformed: the connection closes without a CONNACK.
    if (packet.will?.topic.includes('\u0000')) return done(new Error('will topic contains U+0000'), false);
    const refusal = applyConnectPolicy(packet, limits);
    if (refusal) refusals.set(client, refusal);
    done(null, true);
  };

  const authenticate: AedesOptions['authenticate'] = (client, username, password, done) => {
    const address = opts.addressOf(client);
    // The CONNECT packet, password included, stays in the connection's parser for the life of the
    // connection: once judged, its bytes are overwritten, so a secret does not sit in memory (or a
    // heap snapshot) for days.
    const answer = (err: AuthenticateError | null, ok: boolean): void => {
      password?.fill(0);
      done(err, ok);
    };
    const check = async (): Promise<void> => {
      // Refused before anything is looked up: a throttled address costs no hashing or store reads.
      const wait = await loginThrottle.refusedFor(address);
      if (wait > 0) {
        metrics.limited.inc({ limit: 'mqtt_auth_failures' });
        throw swError('SW_ERR_RATE_LIMITED', `too many failed logins from this address, retry in ${Math.ceil(wait / 1000)} s`);
      }
      const refusal = refusals.get(client);
      if (refusal) throw refusal;
      const role = principalOfClientId(client.id).role;
      if (role === 'subcenter') return checkSubcenterCredentials(opts.tokens, client.id, username, password);
      if (role === 'operator') return checkOperatorCredentials(opts.operatorToken, client.id, username, password);
      return checkDevice(client.id, username, password);
    };
    check().then(
      () => {
        if (opts.isConnected(client.id)) {
          // The newcomer proved the same credentials: it takes over, as the spec requires.
          metrics.mqttTakeovers.inc();
          log.info({ clientId: quoteWire(client.id), remote: address }, 'connection takes over an open connection of the same client id');
        }
        answer(null, true);
      },
      (err: unknown) => {
        const code: ErrorCode = err instanceof StreetWatchError ? err.code : 'SW_ERR_INTERNAL';
        // Counted before the CONNACK, so the next attempt, on whichever node, sees it.
        const counted = code === 'SW_ERR_BAD_CREDENTIALS' ? loginThrottle.failed(address) : undefined;
        metrics.mqttAuthFailures.inc({ code });
        log.info({ clientId: quoteWire(client.id), remote: address, code }, 'connection refused');
        const refusal = new Error(err instanceof Error ? err.message : String(err)) as AuthenticateError;
        refusal.returnCode = connackReturnCode(code);
        if (counted instanceof Promise) void counted.then(() => answer(refusal, false));
        else answer(refusal, false);
      },
    );
  };

  async function checkDevice(clientId: string, username: string | undefined, password: Buffer | undefined): Promise<void> {
    if (!isValidClientId(clientId)) throw swError('SW_ERR_CLIENT_ID_INVALID', JSON.stringify(quoteWire(clientId)));
    if (username !== clientId || !password || password.length === 0 || password.length > 512) {
      throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
    }
    let device;
    try {
      device = await devices.get(clientId);
    } catch (err) {
      throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['device registry', (err as Error).message], { cause: err });
    }
    if (!device) throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
    const digest = createHash('sha256').update(password).digest();
    const cached = authCache.get(clientId);
    if (cached && cached.secretHash === device.secretHash && timingSafeEqual(cached.digest, digest)) return;
    if (!(await verifySecret(password.toString('utf8'), device.secretHash))) throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
    if (authCache.size >= AUTH_CACHE_MAX) authCache.delete(authCache.keys().next().value!);
    authCache.set(clientId, { secretHash: device.secretHash, digest });
  }

  return { preConnect, authenticate };
}

/** The 3.1.1 CONNACK return code of a refusal: 2 identifier rejected, 3 unavailable, 4 bad credentials, 5 not authorized. */
function connackReturnCode(code: ErrorCode): AuthenticateError['returnCode'] {
  switch (code) {
    case 'SW_ERR_CLIENT_ID_INVALID':
      return 2;
    // Retry later: 3.1.1 has no code for "too many attempts" (MQTT 5 would say 0x9F).
    case 'SW_ERR_UNAVAILABLE':
    case 'SW_ERR_RATE_LIMITED':
      return 3;
    case 'SW_ERR_TOPIC_FORBIDDEN':
      return 5;
    default:
      return 4;
  }
}
