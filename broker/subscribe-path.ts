/**
 * What a SUBSCRIBE gets for each of its filters. A refused filter is answered 0x80 in the
 * SUBACK for that filter only. Refusals are cheap to provoke and were expensive to answer (a
 * log line each, with the filter in it): they are rate-limited per client, the way publishes
 * are (a refusal over the rate waits, and the client's connection is not read meanwhile), and
 * their log lines are sampled and cut to a bounded size.
 */
import type { AedesOptions } from 'aedes';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Clock } from '../core/ports.js';
import { OPERATOR_CITY_TOPIC } from '../core/topics.js';
import { authorizeSubscribe, principalOfClientId } from './acl.js';
import { ClientStream } from './client-stream.js';
import type { ClientThrottle } from './limits.js';
import type { OperatorBridge } from './operator-bridge.js';
import { SampledLog } from './sampled-log.js';

/** At most one log line about one client's refused subscriptions per this period. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface SubscribePathOptions {
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Refused subscriptions per second per client. */
  refusals: ClientThrottle;
  /** The operator role, once it is running. */
  operators: () => OperatorBridge | undefined;
}

export interface SubscribePath {
  authorizeSubscribe: NonNullable<AedesOptions['authorizeSubscribe']>;
  /** Logs what is left to say about a client that disconnected. */
  forget(clientId: string): void;
}

export function subscribePath(opts: SubscribePathOptions): SubscribePath {
  const { metrics, refusals } = opts;
  const refusalLog = new SampledLog(opts.logger, 'subscription refused', 'filter', REFUSAL_LOG_INTERVAL_MS, opts.clock);

  const authorize: SubscribePath['authorizeSubscribe'] = (client, sub, done) => {
    if (sub.topic.includes('\u0000')) return done(new Error('topic filter contains U+0000'));
    const principal = principalOfClientId(client.id);
    if (authorizeSubscribe(principal, sub.topic)) {
      // A city reloaded since it was last published goes out before the retained copy is sent.
      const operators = opts.operators();
      if (principal.role === 'operator' && sub.topic === OPERATOR_CITY_TOPIC && operators) return void operators.refreshCity().then(() => done(null, sub), () => done(null, sub));
      return done(null, sub);
    }
    const refuse = (): void => {
      metrics.rejected.inc({ code: 'SW_ERR_SUBSCRIBE_FORBIDDEN' });
      refusalLog.record(client.id, sub.topic);
      // A null subscription answers 0x80 (failure) in the SUBACK for this filter only.
      done(null, null);
    };
    const conn = client.conn;
    const turn = conn instanceof ClientStream && !client.closed ? refusals.acquire(client.id, conn) : undefined;
    if (!turn) return refuse();
    void turn.then((ok) => (ok ? refuse() : done(new Error('connection closed while a refused subscription waited for its turn'))));
  };

  return { authorizeSubscribe: authorize, forget: (clientId) => refusalLog.flush(clientId) };
}
