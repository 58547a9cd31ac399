/**
 * What a SUBSCRIBE gets for each of its filters. A refused filter is answered 0x80 in the
 * SUBACK for that filter only.
 */
import type { AedesOptions } from 'aedes';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { OPERATOR_CITY_TOPIC } from '../core/topics.js';
import { authorizeSubscribe, principalOfClientId } from './acl.js';
import type { OperatorBridge } from './operator-bridge.js';

export interface SubscribePathOptions {
  metrics: Metrics;
  logger: Logger;
  /** The operator role, once it is running. */
  operators: () => OperatorBridge | undefined;
}

export interface SubscribePath {
  authorizeSubscribe: NonNullable<AedesOptions['authorizeSubscribe']>;
}

export function subscribePath(opts: SubscribePathOptions): SubscribePath {
  const { metrics, logger: log } = opts;

  const authorize: SubscribePath['authorizeSubscribe'] = (client, sub, done) => {
    if (sub.topic.includes('\u0000')) return done(new Error('topic filter contains U+0000'));
    const principal = principalOfClientId(client.id);
    if (authorizeSubscribe(principal, sub.topic)) {
      // A city reloaded since it was last published goes out before the retained copy is sent.
      const operators = opts.operators();
      if (principal.role === 'operator' && sub.topic === OPERATOR_CITY_TOPIC && operators) return void operators.refreshCity().then(() => done(null, sub), () => done(null, sub));
      return done(null, sub);
    }
    metrics.rejected.inc({ code: 'SW_ERR_SUBSCRIBE_FORBIDDEN' });
    log.info({ clientId: client.id, filter: sub.topic }, 'subscription refused');
    // A null subscription answers 0x80 (failure) in the SUBACK for this filter only.
    done(null, null);
  };

  return { authorizeSubscribe: authorize };
}
