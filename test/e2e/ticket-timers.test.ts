/**
 * Ticket timers on the real embedded platform, driven by a controllable clock: reminders before
 * a deadline, red flag and escalation with a supervision order after it, across a restart and
 * across two alerting instances sharing one store. Each timer must fire exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startTimerWorker } from '../../alerting/timer-worker.js';
import { tempLogBus } from '../support/bus.js';
import { createLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import type { Ticket } from '../../core/schemas.js';
import { SqliteStateStore } from '../../core/store/sqlite/state.js';
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

  it('lets the parent center see the supervision order and the ticket, and act on the order', async () => {
    const district = await sw.unitToken('test-district');
    const north = await sw.unitToken('north');
    const south = await sw.unitToken('south');
    const orderId = `${ticketId}-S1`;
    expect((await sw.api('GET', '/api/supervision-orders', undefined, district)).body.supervisionOrders.map((o: { id: string }) => o.id)).toEqual([orderId]);
    expect((await sw.api('GET', '/api/supervision-orders', undefined, north)).body.supervisionOrders.map((o: { id: string }) => o.id)).toEqual([orderId]);
    expect((await sw.api('GET', '/api/supervision-orders', undefined, south)).body.supervisionOrders).toEqual([]);
    expect((await sw.api('GET', `/api/supervision-orders/${orderId}`, undefined, south)).status).toBe(404);
    // The supervisor sees the linked ticket, with its orders, but the holder does the work.
    const seen = await sw.api('GET', `/api/tickets/${ticketId}`, undefined, district);
    expect(seen).toMatchObject({ status: 200, body: { id: ticketId, red: true, supervisionOrders: [{ id: orderId, status: 'issued' }] } });
    expect(await sw.api('POST', `/api/tickets/${ticketId}/ack`, {}, district)).toMatchObject({ status: 403, body: { error: { code: 'SW_ERR_FORBIDDEN' } } });
    expect((await sw.api('POST', `/api/supervision-orders/${orderId}/ack`, {}, north)).status).toBe(403);

    expect((await sw.api('POST', `/api/supervision-orders/${orderId}/ack`, { note: '请北街道立即签收处置' }, district)).body).toMatchObject({ status: 'acknowledged' });
    expect((await sw.api('POST', `/api/supervision-orders/${orderId}/note`, { note: '已派员到场' }, north)).body.timeline.at(-1)).toMatchObject({ actor: 'unit:north', action: 'note' });
    expect((await sw.api('POST', `/api/supervision-orders/${orderId}/ack`, {}, district)).body.error.code).toBe('SW_ERR_SUPERVISION_TRANSITION');
    const t = await ticket();
    expect(t.timeline.slice(-2).map((e) => [e.actor, e.action])).toEqual([
      ['unit:test-district', 'supervision_acknowledged'],
      ['unit:north', 'supervision_note'],
    ]);
  });

  it('fires once when two alerting instances share the store, and takes over a dead claimer after its lease', async () => {
    // A second alerting instance: its own connection to the store, its own bus and worker.
    const twin = new SqliteStateStore(sw.dataDir);
    const twinBus = tempLogBus();
    const twinWorker = startTimerWorker({
      tickets: twin.tickets,
      timers: twin.timers,
      bus: twinBus,
      cityIndex: () => sw.platform.city,
      clock,
      metrics: new Metrics({ defaultMetrics: false }),
      logger: createLogger('silent'),
    });
    cleanup.push(async () => {
      await twinWorker.close();
      await twinBus.close();
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

describe('closing confirmed by the sensor', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  afterAll(async () => {
    await sw?.stop();
  });

  it('closes once the readings stayed normal for the hold period after the resolution; a re-firing within it reopens', async () => {
    sw = await startTestPlatform({ clock });
    const north = await sw.unitToken('north');
    const device = await sw.connect('wl-h1', await sw.provision('wl-h1', IN_TUNNEL, 'water_level'));
    const level = async (value: number): Promise<void> => {
      clock.advance(1_000);
      await device.publishAsync('v1/devices/wl-h1/telemetry', JSON.stringify({ values: { water_level: value } }), { qos: 1 });
      // Evaluated before the clock moves on.
      await sw.settled();
    };
    await level(0.5);
    const [created] = await waitFor(async () => {
      const list: Ticket[] = (await sw.api('GET', '/api/tickets')).body.tickets;
      return list.length ? list : undefined;
    }, 'the ticket');
    const id = created!.id;
    const get = async (): Promise<Ticket> => (await sw.api('GET', `/api/tickets/${id}`)).body;
    await sw.api('POST', `/api/tickets/${id}/ack`, {}, north);
    await sw.api('POST', `/api/tickets/${id}/resolve`, { note: '已抽排' }, north);
    // Resolved by the unit, but the sensor still reads high: no confirmation yet.
    clock.advance(30 * min);
    await sw.platform.timers!.runOnce();
    expect((await get()).status).toBe('resolved');

    await level(0.1);
    const recovered = clock.now();
    clock.advance(9 * min);
    expect(await sw.platform.timers!.runOnce()).toBe(0);
    await level(0.45);
    const reopened = await get();
    // A second firing of the same sensor counts once toward the storm's size.
    expect(reopened).toMatchObject({ status: 'reopened', alertCount: 1, firings: 2 });
    expect(reopened.timeline.at(-1)).toMatchObject({ actor: 'sensor:wl-h1', action: 'reopened' });

    await sw.api('POST', `/api/tickets/${id}/resolve`, { note: '疏通排水口' }, north);
    await level(0.05);
    const normalAgain = clock.now();
    clock.set(normalAgain + 10 * min - 1);
    expect(await sw.platform.timers!.runOnce()).toBe(0);
    clock.set(normalAgain + 10 * min);
    expect(await sw.platform.timers!.runOnce()).toBe(1);
    const closed = await get();
    expect(closed).toMatchObject({ status: 'closed', closedAt: normalAgain + 10 * min, closure: { by: 'sensor', actor: 'sensor:wl-h1' } });
    expect(closed.timeline.at(-1)).toMatchObject({ actor: 'sensor:wl-h1', action: 'closed' });
    expect(recovered).toBeLessThan(normalAgain);
  });
});
