/**
 * Alerting: `sw.alerts` → tickets. A firing alert opens a ticket for the responsible
 * sub-center, or merges into the open ticket with the same merge key; a resolved alert is
 * recorded on its ticket. Redelivered alerts are recognised by id and change nothing.
 */
import { randomBytes } from 'node:crypto';
import type { CityIndex } from '../core/city-index.js';
import { isStreetWatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, Subscription, TicketStore } from '../core/ports.js';
import type { Alert, Ticket } from '../core/schemas.js';
import { applyResolved, mergeFiring, mergeKeyOf, ticketFromAlert } from './lifecycle.js';
import { routeLocation } from './routing.js';
import { announce, commitTicket, type CommitContext } from './ticket-commit.js';

/** Attempts at a ticket change that lost an optimistic-concurrency race. */
const MAX_CONFLICT_RETRIES = 5;
const ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export interface AlertingOptions {
  bus: Bus;
  tickets: TicketStore;
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

/** `SW-20261121-7KQ2M9`: the day it opened, then 30 random bits (Crockford base32). */
export function newTicketId(now: number): string {
  const day = new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
  const bytes = randomBytes(6);
  let suffix = '';
  for (const b of bytes) suffix += ID_ALPHABET[b & 31];
  return `SW-${day}-${suffix}`;
}

export async function startAlerting(opts: AlertingOptions): Promise<Subscription> {
  const { bus, tickets, clock } = opts;
  const log = opts.logger.child({ stage: 'alerting' });
  const commit: CommitContext = { tickets, bus, cityIndex: opts.cityIndex, metrics: opts.metrics };

  async function handleFiring(alert: Alert): Promise<void> {
    const now = clock.now();
    const open = await tickets.findOpen(mergeKeyOf(alert));
    if (open) {
      const merged = mergeFiring(open, alert, now);
      // Already merged (a redelivery): announce the current state again, which is harmless
      // for idempotent consumers and covers a crash between the save and the announcement.
      if (!merged) return announce(bus, { id: `${open.id}@${open.version}`, type: 'ticket.updated', at: now, ticket: open });
      await commitTicket(commit, merged, 'ticket.updated', now);
      return;
    }
    const index = opts.cityIndex();
    const route = routeLocation(index, alert.loc);
    const zoneName = alert.zoneId ? index.zoneById.get(alert.zoneId)?.name : undefined;
    const ruleName = index.city.rules.find((r) => r.id === alert.ruleId)?.name ?? alert.category;
    const ticket = ticketFromAlert(alert, { id: newTicketId(now), now, route, sla: index.city.sla, title: `${ruleName} · ${zoneName ?? alert.deviceId}` });
    await commitTicket(commit, ticket, 'ticket.created', now);
    log.info({ ticketId: ticket.id, subcenterId: ticket.subcenterId, grade: ticket.grade, fallback: route.fallback }, 'ticket opened');
  }

  async function handleResolved(alert: Alert): Promise<void> {
    const open = await tickets.findOpen(mergeKeyOf(alert));
    if (!open) return;
    const now = clock.now();
    const updated = applyResolved(open, alert, now);
    if (updated) await commitTicket(commit, updated, 'ticket.updated', now);
  }

  async function handle(alert: Alert): Promise<Ticket | void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return alert.status === 'firing' ? await handleFiring(alert) : await handleResolved(alert);
      } catch (err) {
        // Another writer (an operator action, a second instance) got there first: re-read.
        if (!isStreetWatchError(err, 'SW_ERR_TICKET_CONFLICT') || attempt >= MAX_CONFLICT_RETRIES) throw err;
      }
    }
  }

  return bus.subscribe('sw.alerts', 'alerting', async (records) => {
    // In order: alerts of one fingerprint must apply in sequence, and merges of one zone race.
    for (const { value } of records) await handle(value);
  });
}
