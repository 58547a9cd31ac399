/**
 * Ticket timers on the real embedded platform, driven by a controllable clock: reminders before
 * a deadline, red flag and escalation with a supervision order after it, across a restart and
 * across two alerting instances sharing one store. Each timer must fire exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startTimerWorker } from '../../alerting/timer-worker.js';
import { MemoryBus } from '../../core/bus/memory.js';
import { createLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import type { Ticket } from '../../core/schemas.js';
import { SqliteStateStore } from '../../core/store/sqlite-state.js';
import { ManualClock } from '../support/clock.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const min = 60_000;
const T0 = Date.UTC(2026, 5, 1, 0, 0);
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('ticket timers with a controllable clock', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  let ticketId: string;
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
    await sw?.stop();
  });

  const ticket = async (): Promise<Ticket> => (await sw.api('GET', `/api/tickets/${ticketId}`)).body;
  const runOnce = (): Promise<number> => sw.platform.timers!.runOnce();

  it('reminds before the response deadline, once', async () => {
    sw = await startTestPlatform({ clock });
    const secret = await sw.provision('wl-t1', IN_TUNNEL, 'water_level');
    const device = await sw.connect('wl-t1', secret);
    await device.publishAsync('v1/devices/wl-t1/telemetry', JSON.stringify({ values: { water_level: 0.5 } }), { qos: 1 });
    const [created] = await waitFor(async () => {
      const list: Ticket[] = (await sw.api('GET', '/api/tickets')).body.tickets;
      return list.length ? list : undefined;
    }, 'the ticket');
    ticketId = created!.id;
    expect(created).toMatchObject({ grade: 'B', subcenterId: 'north', respondBy: T0 + 30 * min, resolveBy: T0 + 12 * 60 * min });

    expect(await runOnce()).toBe(0);
    clock.advance(19 * min);
    expect(await runOnce()).toBe(0);
    clock.advance(1 * min);
    expect(await runOnce()).toBe(1);
    expect(await runOnce()).toBe(0);
    const t = await ticket();
    expect(t.reminders).toEqual([{ kind: 'response', deadline: T0 + 30 * min, at: T0 + 20 * min, subcenterId: 'north' }]);
    expect(t.timeline.filter((e) => e.action === 'reminder')).toHaveLength(1);
    expect(t.red).toBe(false);
  });

  it('flags the missed deadline red and escalates it once, after a restart in between', async () => {
    await sw.stop();
    clock.set(T0 + 31 * min);
    sw = await startTestPlatform({ clock, dataDir: sw.dataDir });
    expect(await runOnce()).toBe(1);
    expect(await runOnce()).toBe(0);
    const t = await ticket();
    expect(t).toMatchObject({ red: true, status: 'dispatched', supervisionOrderIds: [`${ticketId}-S1`] });
    expect(t.overdue).toEqual([{ kind: 'response', deadline: T0 + 30 * min, at: T0 + 31 * min, subcenterId: 'north' }]);
    expect(t.timeline.slice(-2).map((e) => e.action)).toEqual(['overdue', 'escalated']);
    const order = await sw.platform.state.supervision.get(`${ticketId}-S1`);
    expect(order).toMatchObject({ ticketId, subcenterId: 'north', issuedTo: 'test-district', reason: 'response_overdue', status: 'issued', deadline: T0 + 30 * min });
  });

  it('fires once when two alerting instances share the store, and takes over a dead claimer after its lease', async () => {
    // A second alerting instance: its own connection to the store, its own bus and worker.
    const twin = new SqliteStateStore(sw.dataDir);
    const twinWorker = startTimerWorker({
      tickets: twin.tickets,
      timers: twin.timers,
      bus: new MemoryBus(),
      cityIndex: () => sw.platform.city,
      clock,
      metrics: new Metrics({ defaultMetrics: false }),
      logger: createLogger('silent'),
    });
    cleanup.push(async () => {
      await twinWorker.close();
      await twin.close();
    });

    clock.set(T0 + 710 * min);
    const fired = await Promise.all([runOnce(), twinWorker.runOnce(), runOnce(), twinWorker.runOnce()]);
    expect(fired.reduce((a, b) => a + b, 0)).toBe(1);
    expect((await ticket()).reminders.map((r) => r.kind)).toEqual(['response', 'resolution']);

    // An instance claims the resolution deadline and dies before applying it.
    clock.set(T0 + 720 * min);
    expect((await twin.timers.claimDue(clock.now(), 10, 'crashed-instance', 60_000)).map((x) => x.kind)).toEqual(['resolution_due']);
    expect(await runOnce()).toBe(0);
    clock.advance(60_000);
    expect(await Promise.all([runOnce(), twinWorker.runOnce()])).toSatisfy((n: number[]) => n[0]! + n[1]! === 1);
    const t = await ticket();
    expect(t.supervisionOrderIds).toEqual([`${ticketId}-S1`, `${ticketId}-S2`]);
    expect(t.overdue.map((o) => o.kind)).toEqual(['response', 'resolution']);
    expect(await sw.platform.state.supervision.get(`${ticketId}-S2`)).toMatchObject({ reason: 'resolution_overdue', issuedTo: 'test-district' });
    expect(await sw.platform.state.timers.forTicket(ticketId)).toEqual([]);
  });
});
