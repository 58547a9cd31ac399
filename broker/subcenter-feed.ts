/**
 * The MQTT ticket feed: units connect with their own credentials (client id and username
 * `subcenter:{unitId}`, password one of the unit's API tokens) and subscribe to
 * `v1/subcenters/{unitId}/tickets`, where every ticket event addressed to the unit arrives at
 * QoS 1, in the same body its webhook receives.
 */
import type { Aedes } from 'aedes';
import { hashApiToken } from '../core/api-token.js';
import { StreetWatchError, swError } from '../core/errors.js';
import type { ApiTokenStore, Bus, Subscription } from '../core/ports.js';
import { ticketMessage } from '../core/ticket-message.js';
import { subcenterTicketsTopic } from '../core/topics.js';
import { SUBCENTER_CLIENT_PREFIX, subcenterOfClientId } from './acl.js';

/** Throws SW_ERR_BAD_CREDENTIALS unless the password is a live token of the client id's unit. */
export async function checkSubcenterCredentials(tokens: ApiTokenStore | undefined, clientId: string, username: string | undefined, password: Buffer | undefined): Promise<void> {
  const unitId = subcenterOfClientId(clientId);
  if (unitId === undefined) throw swError('SW_ERR_CLIENT_ID_INVALID', JSON.stringify(clientId.slice(0, 80)));
  if (!tokens || username !== `${SUBCENTER_CLIENT_PREFIX}${unitId}` || !password || password.length === 0 || password.length > 512) {
    throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
  }
  let record;
  try {
    record = await tokens.findByHash(hashApiToken(password.toString('utf8')));
  } catch (err) {
    throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['token store', (err as Error).message], { cause: err });
  }
  // A display token reads the wall view only, not the unit's ticket feed.
  if (!record || record.kind !== 'unit' || record.revokedAt !== null || record.unitId !== unitId) throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
}

/** Publishes each `sw.tickets` event to the tickets topic of every unit it is addressed to. */
export function startSubcenterFeed(aedes: Aedes, bus: Bus): Promise<Subscription> {
  return bus.subscribe('sw.tickets', 'broker-subcenter-feed', async (records) => {
    await Promise.all(
      records.flatMap(({ value }) =>
        value.recipients.map(
          (to) =>
            new Promise<void>((resolve) => {
              const payload = Buffer.from(JSON.stringify(ticketMessage(value, to)));
              aedes.publish({ cmd: 'publish', topic: subcenterTicketsTopic(to), payload, qos: 1, retain: false, dup: false }, () => resolve());
            }),
        ),
      ),
    );
  });
}
