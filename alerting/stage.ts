/**
 * Alerting: `sw.alerts` → tickets. A firing alert opens a ticket for the responsible unit and
 * department, or merges into the open ticket of the same incident (same zone and category; or
 * outside zones, the same device or a nearby one); a resolved alert is recorded on its ticket.
 * Redelivered alerts are recognised by id and change nothing.
 */
import { randomBytes } from 'node:crypto';
import type { City } from '../core/city.js';
import type { CityIndex } from '../core/city-index.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, Subscription, TicketStore } from '../core/ports.js';
import type { Alert, Ticket } from '../core/schemas.js';
import { OPEN_STATUSES, applyResolved, mergeFiring, mergeKeyOf, ticketFromAlert, type GradingContext } from '../core/tickets/lifecycle.js';
import { nearbyTicket } from './merge.js';
import { routeLocation } from '../core/tickets/routing.js';
import { announce, commitTicket, withConflictRetry, type CommitContext } from '../core/tickets/commit.js';

const ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Most open tickets of one sub-center looked at for a proximity merge. */
const NEARBY_SCAN = 500;
/** The department of a category that neither the rule nor the city configuration names. */
export const UNASSIGNED_DEPARTMENT = 'unassigned';

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

/** The rule's department when it names one, else the category's from the city configuration. */
export function departmentFor(alert: Pick<Alert, 'department' | 'category'>, city: Pick<City, 'categories'>): string {
  if (alert.department) return alert.department;
  return city.categories.get(alert.category)?.department ?? UNASSIGNED_DEPARTMENT;
}

export async function startAlerting(opts: AlertingOptions): Promise<Subscription> {
  const { bus, tickets, clock } = opts;
  const log = opts.logger.child({ stage: 'alerting' });
  const commit: CommitContext = { tickets, bus, cityIndex: opts.cityIndex, metrics: opts.metrics };

  function grading(index: CityIndex, zoneId: string | null | undefined): GradingContext {
    return { sla: index.city.sla, zoneRisk: zoneId ? index.zoneById.get(zoneId)?.risk : undefined };
  }

  /** The open ticket of this alert's incident, if any. */
  async function incidentOf(alert: Alert, index: CityIndex): Promise<Ticket | undefined> {
    // The device's own ticket first: it follows the ticket through reassignments and merges.
    const own = (await tickets.findOpenByAlert(alert.fingerprint)) ?? (await tickets.findOpen(mergeKeyOf(alert)));
    if (own || alert.zoneId !== undefined || !alert.loc) return own;
    const route = routeLocation(index, alert.loc);
    const candidates = await tickets.list({ subcenterId: route.subcenterId, status: [...OPEN_STATUSES], limit: NEARBY_SCAN });
    return nearbyTicket(candidates, alert, index.city.sla.merge);
  }

  async function handleFiring(alert: Alert): Promise<void> {
    const now = clock.now();
    const index = opts.cityIndex();
    const open = await incidentOf(alert, index);
    if (open) {
      const merged = mergeFiring(open, alert, now, grading(index, open.zoneId));
      // Already merged (a redelivery): announce the current state again, which is harmless
      // for idempotent consumers and covers a crash between the save and the announcement.
      if (!merged) return announce(bus, { id: `${open.id}@${open.version}`, type: 'ticket.updated', at: now, ticket: open, recipients: [open.subcenterId] });
      await commitTicket(commit, merged, merged.status === 'reopened' && open.status !== 'reopened' ? 'ticket.reopened' : 'ticket.updated', now);
      return;
    }
    const route = routeLocation(index, alert.loc);
    const zoneName = alert.zoneId ? index.zoneById.get(alert.zoneId)?.name : undefined;
    const ruleName = index.city.rules.find((r) => r.id === alert.ruleId)?.name ?? index.city.categories.get(alert.category)?.name ?? alert.category;
    const ticket = ticketFromAlert(alert, {
      ...grading(index, alert.zoneId),
      id: newTicketId(now),
      now,
      route,
      department: departmentFor(alert, index.city),
      title: `${ruleName} · ${zoneName ?? alert.deviceId}`,
    });
    await commitTicket(commit, ticket, 'ticket.created', now);
    log.info({ ticketId: ticket.id, subcenterId: ticket.subcenterId, grade: ticket.grade, fallback: route.fallback }, 'ticket opened');
  }

  async function handleResolved(alert: Alert): Promise<void> {
    const open = (await tickets.findOpenByAlert(alert.fingerprint)) ?? (await tickets.findOpen(mergeKeyOf(alert)));
    if (!open) return;
    const now = clock.now();
    const updated = applyResolved(open, alert, now);
    if (updated) await commitTicket(commit, updated, 'ticket.updated', now);
  }

  return bus.subscribe('sw.alerts', 'alerting', async (records) => {
    // In order: alerts of one fingerprint must apply in sequence, and merges of one zone race.
    for (const { value } of records) await withConflictRetry(() => (value.status === 'firing' ? handleFiring(value) : handleResolved(value)));
  });
}
