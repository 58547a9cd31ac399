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
import { TicketEventCoalescer } from '../core/ticket-coalescer.js';
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
  // A department's token opens its own feed too: it is told of the tickets it leads or co-handles.
  if (!record || (record.kind !== 'unit' && record.kind !== 'department') || record.revokedAt !== null || record.unitId !== unitId) throw swError('SW_ERR_BAD_CREDENTIALS', clientId);
}

/**
 * Messages the platform hands to aedes at once from one bus batch. Aedes delivers through
 * mqemitter, which holds up to 100 deliveries in flight and queues the rest; it drains that queue
 * recursively, so thousands queued at once (a batch of error messages for a misbehaving fleet)
 * overflow the stack and end the process.
 */
export const MAX_MQTT_FANOUT = 50;

/**
 * Publishes each `sw.tickets` event to the tickets topic of every unit it is addressed to, a
 * burst of one ticket's updates coalesced into its latest state (core/ticket-coalescer.ts).
 */
export async function startSubcenterFeed(aedes: Aedes, bus: Bus): Promise<Subscription> {
  const coalescer = new TicketEventCoalescer((event) => {
    for (const to of event.recipients) {
      const payload = Buffer.from(JSON.stringify(ticketMessage(event, to)));
      aedes.publish({ cmd: 'publish', topic: subcenterTicketsTopic(to), payload, qos: 1, retain: false, dup: false }, () => undefined);
    }
  });
  const sub = await bus.subscribe(
    'sw.tickets',
    'broker-subcenter-feed',
    async (records) => {
      for (const { value } of records) coalescer.push(value);
    },
    // A ticket event goes to two or three units: a few events at a time keep aedes' queue short.
    { maxBatch: MAX_MQTT_FANOUT / 5 },
  );
  return {
    async close() {
      coalescer.close();
      await sub.close();
    },
  };
}
