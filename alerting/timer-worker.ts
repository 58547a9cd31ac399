/**
 * The timer worker: claims due ticket timers from the state store and applies them (reminder,
 * overdue and escalation, sensor-confirmed closing). Any number of alerting instances may run
 * one: a claim is a lease, so instances do not work on the same timer at once, and the effect
 * is saved with the ticket's optimistic version, which removes the timer in the same
 * transaction, so a timer fires once even when a claimer dies mid-way and its lease runs out.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { CityIndex } from '../core/city-index.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, TicketStore, TimerStore } from '../core/ports.js';
import type { TicketTimer } from '../core/schemas.js';
import { commitTicket, withConflictRetry, type CommitContext } from '../core/tickets/commit.js';
import { fireTimer } from '../core/tickets/timers.js';
import { parentOf } from '../core/tickets/units.js';

export interface TimerWorkerOptions {
  tickets: TicketStore;
  timers: TimerStore;
  bus: Bus;
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** How often due timers are looked for. Default DEFAULT_TIMER_POLL_MS. */
  pollMs?: number;
  /** How long a claim holds before another instance may take the timer over. Default DEFAULT_TIMER_LEASE_MS. */
  leaseMs?: number;
  /** This instance's name in claims. Default: host, pid and a random suffix. */
  owner?: string;
}

export const DEFAULT_TIMER_POLL_MS = 1_000;
/** Far longer than applying one timer takes, short enough that a dead instance's timers are late by a minute at most. */
export const DEFAULT_TIMER_LEASE_MS = 60_000;
/** Timers claimed per round. */
const CLAIM_BATCH = 100;

export interface TimerWorker {
  /** Applies every timer due now; resolves with how many fired (changed a ticket). */
  runOnce(): Promise<number>;
  close(): Promise<void>;
}

export function startTimerWorker(opts: TimerWorkerOptions): TimerWorker {
  const { tickets, timers, clock, metrics } = opts;
  const log = opts.logger.child({ stage: 'timers' });
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = opts.leaseMs ?? DEFAULT_TIMER_LEASE_MS;
  const commit: CommitContext = { tickets, bus: opts.bus, cityIndex: opts.cityIndex, metrics };
  let running: Promise<number> | undefined;
  let closed = false;

  async function apply(timer: TicketTimer): Promise<boolean> {
    return withConflictRetry(async () => {
      const ticket = await tickets.get(timer.ticketId);
      const now = clock.now();
      const index = opts.cityIndex();
      const fired = ticket && fireTimer(ticket, timer, now, { sla: index.city.sla, parentOf: (id) => parentOf(index, id), districtId: index.city.district.id });
      if (!fired) {
        await timers.complete(timer.id, owner);
        return false;
      }
      const commitOpts = fired.supervisionOrder ? { recipients: fired.recipients, supervisionOrder: fired.supervisionOrder } : { recipients: fired.recipients };
      await commitTicket(commit, fired.ticket, fired.type, now, commitOpts);
      log.info({ ticketId: timer.ticketId, kind: timer.kind, event: fired.type }, 'ticket timer fired');
      return true;
    });
  }

  async function drain(): Promise<number> {
    let fired = 0;
    for (;;) {
      const due = await timers.claimDue(clock.now(), CLAIM_BATCH, owner, leaseMs);
      if (due.length === 0) return fired;
      for (const timer of due) {
        try {
          const changed = await apply(timer);
          metrics.ticketTimers.inc({ kind: timer.kind, outcome: changed ? 'fired' : 'void' });
          if (changed) fired++;
        } catch (err) {
          // The lease runs out and the timer is claimed again: a late effect, never a lost one.
          metrics.ticketTimers.inc({ kind: timer.kind, outcome: 'error' });
          log.error({ err, timerId: timer.id }, 'ticket timer failed, retried when its lease ends');
        }
      }
      if (due.length < CLAIM_BATCH || closed) return fired;
    }
  }

  function runOnce(): Promise<number> {
    // One pass at a time per instance; a caller arriving mid-pass gets a pass that starts after it.
    const next: Promise<number> = (running ?? Promise.resolve(0)).catch(() => 0).then(() => (closed ? 0 : drain()));
    running = next;
    return next.finally(() => {
      if (running === next) running = undefined;
    });
  }

  const timer = setInterval(() => {
    if (!running) runOnce().catch((err: unknown) => log.error({ err }, 'timer pass failed'));
  }, opts.pollMs ?? DEFAULT_TIMER_POLL_MS);
  timer.unref();

  return {
    runOnce,
    async close() {
      closed = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
