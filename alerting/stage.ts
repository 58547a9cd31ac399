/**
 * Alerting: `sw.alerts` → tickets. A firing alert (a sensor's, a camera's, an operator flow's,
 * or a people's report) opens a ticket for the responsible unit and department, or merges into
 * the open ticket of the same incident (same zone and category; or outside zones, the same
 * device or a nearby one); a resolved alert is recorded on its ticket.
 * Redelivered and replayed alerts are recognised (core/tickets/ticket-alerts.ts isReplay) and
 * change nothing, also after their ticket closed.
 */
import { newDayId } from '../core/ids.js';
import type { City } from '../core/city.js';
import type { CityIndex } from '../core/city-index.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, Subscription, TicketStore } from '../core/ports.js';
import type { Alert, Ticket } from '../core/schemas.js';
import { OPEN_STATUSES, applyResolved, mergeFiring, mergeKeyOf, ticketFromAlert, type AlertChange, type GradingContext } from '../core/tickets/lifecycle.js';
import { isReplay } from '../core/tickets/ticket-alerts.js';
import { nearbyTicket } from './merge.js';
import { organize } from '../core/tickets/organize.js';
import { routeLocation } from '../core/tickets/routing.js';
import { unitsUnder } from '../core/tickets/units.js';
import { announce, commitTicket, ticketEventId, withConflictRetry, type CommitContext } from '../core/tickets/commit.js';

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
  return newDayId('SW', now);
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
    const own = await tickets.findOpen(mergeKeyOf(alert));
    if (own || alert.zoneId !== undefined || !alert.loc) return own;
    const route = routeLocation(index, alert.loc);
    // The sub-center's tickets and those it handed down to its communities and grids.
    const candidates = await tickets.list({ subcenterId: unitsUnder(index, route.subcenterId), status: [...OPEN_STATUSES], limit: NEARBY_SCAN });
    return nearbyTicket(candidates, alert, index.city.sla.merge);
  }

  /**
   * A replay of what the ticket already applied changes nothing. If it is the alert behind the
   * ticket's latest change, that change is announced again (under its same event id): the
   * process may have died between the save and the announcement. Older replays stay silent.
   */
  async function replayed(ticket: Ticket, alert: Alert, now: number): Promise<void> {
    opts.metrics.alertReplays.inc();
    if (ticket.status !== 'closed' && ticket.appliedAlertIds?.at(-1) === alert.id) {
      await announce(bus, { id: ticketEventId(ticket), type: 'ticket.updated', at: now, ticket, recipients: [ticket.subcenterId] });
    }
  }

  /**
   * Saves an alert's change to an open ticket. The holder follows a raised grade and the plan
   * for it is put in force (core/tickets/organize.ts); the event says what a unit or department
   * must act on: reopened, summoned, moved up, or just updated.
   */
  async function commitChange(before: Ticket, change: AlertChange, now: number, alert: Alert): Promise<void> {
    if (change.flapping) opts.metrics.flapping.inc({ event: change.flapping });
    const o = organize(change.ticket, opts.cityIndex(), now, false);
    const reportLinks = alert.report ? { reportLinks: [alert.report.id] } : {};
    if (change.quiet && o.ticket === change.ticket) {
      opts.metrics.flapping.inc({ event: 'quiet_change' });
      await commitTicket(commit, change.ticket, 'ticket.updated', now, { quiet: true, ...reportLinks });
      return;
    }
    const reopened = o.ticket.status === 'reopened' && before.status !== 'reopened';
    const type = reopened ? 'ticket.reopened' : o.summoned.length > 0 ? 'ticket.summoned' : o.movedFrom !== undefined ? 'ticket.reassigned' : 'ticket.updated';
    await commitTicket(commit, o.ticket, type, now, { ...(o.movedFrom === undefined ? {} : { recipients: [o.movedFrom] }), ...reportLinks });
  }

  async function handleFiring(alert: Alert): Promise<void> {
    const now = clock.now();
    const index = opts.cityIndex();
    // The device's own ticket first: it follows the ticket through reassignments and merges.
    const own = await tickets.findOpenByAlert(alert.fingerprint);
    if (!own) {
      // A closed ticket that applied this transition: a replay must not open a new ticket.
      const last = await tickets.lastByAlert(alert.fingerprint);
      if (last && isReplay(last, alert)) return replayed(last, alert, now);
    }
    const open = own ?? (await incidentOf(alert, index));
    if (open) {
      const change = mergeFiring(open, alert, now, grading(index, open.zoneId));
      if (!change) return replayed(open, alert, now);
      await commitChange(open, change, now, alert);
      return;
    }
    const route = routeLocation(index, alert.loc);
    const zoneName = alert.zoneId ? index.zoneById.get(alert.zoneId)?.name : undefined;
    const ruleName = index.city.rules.find((r) => r.id === alert.ruleId)?.name ?? index.city.categories.get(alert.category)?.name ?? alert.category;
    const opened = ticketFromAlert(alert, {
      ...grading(index, alert.zoneId),
      id: newTicketId(now),
      now,
      route,
      department: departmentFor(alert, index.city),
      // A report outside zones is named by who reported it (the city's words, as rule names are).
      title: `${ruleName} · ${zoneName ?? (alert.report ? (alert.report.channel === 'grid' ? '网格员上报' : '群众上报') : alert.deviceId)}`,
    });
    // C and D go down to the community and grid; the plan for the grade summons its co-handlers.
    const { ticket } = organize(opened, index, now, true);
    await commitTicket(commit, ticket, 'ticket.created', now, alert.report ? { reportLinks: [alert.report.id] } : {});
    log.info({ ticketId: ticket.id, subcenterId: ticket.subcenterId, grade: ticket.grade, fallback: route.fallback }, 'ticket opened');
  }

  async function handleResolved(alert: Alert): Promise<void> {
    const open = (await tickets.findOpenByAlert(alert.fingerprint)) ?? (await tickets.findOpen(mergeKeyOf(alert)));
    if (!open) return;
    const now = clock.now();
    if (isReplay(open, alert)) return replayed(open, alert, now);
    const change = applyResolved(open, alert, now, { sla: opts.cityIndex().city.sla });
    if (change) await commitChange(open, change, now, alert);
  }

  return bus.subscribe('sw.alerts', 'alerting', async (records) => {
    // In order: alerts of one fingerprint must apply in sequence, and merges of one zone race.
    for (const { value } of records) await withConflictRetry(() => (value.status === 'firing' ? handleFiring(value) : handleResolved(value)));
    const now = clock.now();
    for (const { value } of records) opts.metrics.stageLag.observe({ stage: 'alerting' }, Math.max(0, now - value.ts) / 1000);
  });
}
