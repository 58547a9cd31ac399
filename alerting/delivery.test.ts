/**
 * Webhook delivery against a real HTTP receiver: it goes down and comes back, loses a response
 * after acting on it, and still acts on each delivery once, by its Idempotency-Key. Backoff
 * and the maximum age run on a controllable clock.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tempLogBus } from '../test/support/bus.js';
import { loadCity } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import { createLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { Ticket } from '../core/schemas.js';
import { SqliteStateStore } from '../core/store/sqlite/state.js';
import { ManualClock } from '../test/support/clock.js';
import { cityWithWebhooks, metricValue, tempDir, waitFor } from '../test/support/harness.js';
import { IdempotentReceiver } from '../test/support/webhook-receiver.js';
import { sampleTicket } from '../test/contract/state.contract.js';
import { DEFAULT_UNIT_CONCURRENCY, startDelivery, type Delivery, type DeliveryOptions } from './delivery.js';
import { commitTicket, outboxMessageId, type CommitContext } from '../core/tickets/commit.js';

const SECRET = 'north-webhook-secret-0001';
const T0 = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;

describe('webhook delivery', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function setup() {
    const receiver = new IdempotentReceiver(SECRET);
    await receiver.up();
    closers.push(() => receiver.down());
    const hanging = await startHangingReceiver();
    closers.push(() => hanging.close());
    const city = new CityIndex(loadCity(cityWithWebhooks({ north: { url: receiver.url, secret: SECRET }, south: { url: hanging.url, secret: SECRET } })));
    const dataDir = tempDir('delivery');
    const store = new SqliteStateStore(dataDir);
    closers.push(() => store.close());
    const clock = new ManualClock(T0);
    const metrics = new Metrics({ defaultMetrics: false });
    const bus = tempLogBus();
    closers.push(() => bus.close());
    const commit: CommitContext = { tickets: store.tickets, bus, cityIndex: () => city, metrics };
    const start = async (over: Partial<DeliveryOptions> = {}, s = store): Promise<Delivery> => {
      const own = tempLogBus();
      closers.push(() => own.close());
      const d = await startDelivery({ outbox: s.outbox, bus: own, cityIndex: () => city, clock, metrics, logger: createLogger('silent'), pollMs: 3_600_000, maxAgeMs: 2 * HOUR, ...over });
      closers.push(() => d.close());
      return d;
    };
    let n = 0;
    const change = async (unit = 'north'): Promise<{ ticket: Ticket; key: string }> => {
      const ticket = sampleTicket({ subcenterId: unit, createdAt: clock.now(), id: `SW-T-${++n}` });
      await commitTicket(commit, ticket, 'ticket.created', clock.now());
      return { ticket, key: outboxMessageId(ticket, unit) };
    };
    return { receiver, hanging, store, clock, start, change, dataDir, metrics };
  }

  it('retries a receiver that is down, and acts once per key when a response is lost after the work', async () => {
    const { receiver, store, clock, start, change } = await setup();
    const delivery = await start();
    await receiver.down();
    const a = await change();
    const b = await change();
    expect(await delivery.runOnce()).toBe(0);
    const failed = await store.outbox.forTicket(a.ticket.id);
    expect(failed).toMatchObject([{ id: a.key, state: 'pending', attempts: 1, lastError: expect.stringContaining('ECONNREFUSED') }]);
    expect(failed[0]!.nextAttemptAt).toBeGreaterThan(T0);

    await receiver.up();
    // Backing off: not due yet until the clock passes the retry time (at most 1 s for attempt 1).
    expect(await delivery.runOnce()).toBe(0);
    clock.advance(1_000);
    expect(await delivery.runOnce()).toBe(2);

    // The receiver acts on the next delivery, then its response is lost: the sender must retry
    // with the same key, and the receiver must recognise it.
    receiver.dropResponses = 1;
    const c = await change();
    expect(await delivery.runOnce()).toBe(0);
    expect((await store.outbox.get(c.key))).toMatchObject({ state: 'pending', attempts: 1 });
    clock.advance(1_000);
    expect(await delivery.runOnce()).toBe(1);

    // a and b went out concurrently after the same outage, in either order.
    expect(receiver.requests.slice(0, 2).map((r) => [r.key, r.attempt]).sort()).toEqual([[a.key, '2'], [b.key, '2']].sort());
    expect(receiver.requests.slice(2).map((r) => [r.key, r.attempt])).toEqual([
      [c.key, '1'],
      [c.key, '2'],
    ]);
    expect(receiver.requests.every((r) => r.signatureValid)).toBe(true);
    expect(new Map(receiver.processed)).toEqual(
      new Map([
        [a.key, 1],
        [b.key, 1],
        [c.key, 1],
      ]),
    );
    for (const { ticket } of [a, b, c]) expect((await store.outbox.forTicket(ticket.id)).map((m) => m.state)).toEqual(['delivered']);
    expect(JSON.parse(receiver.requests.find((r) => r.key === a.key)!.body)).toMatchObject({ event: 'ticket.created', id: `${a.ticket.id}/v1`, to: 'north', ticket: { id: a.ticket.id } });
  });

  it('starts sending when a save of this process commits, before its announcement and without a poll', async () => {
    const { receiver, store, start, change } = await setup();
    // The worker hears no announcement (a bus of its own) and polls once an hour.
    const delivery = await start();
    const a = await change();
    await waitFor(() => receiver.processed.get(a.key), 'the webhook of the save');
    expect((await store.outbox.get(a.key))!.state).toBe('delivered');
    // A save that writes no message (a quiet change) wakes nobody, and a closed worker hears no more.
    await delivery.close();
    const b = await change();
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.processed.has(b.key)).toBe(false);
    expect((await store.outbox.get(b.key))!.state).toBe('pending');
  });

  it('gives up at the maximum age, and never sends a message that is already too old', async () => {
    const { receiver, store, clock, start, change } = await setup();
    await receiver.down();
    const delivery = await start();
    const late = await change();
    expect(await delivery.runOnce()).toBe(0);
    clock.advance(2 * HOUR - 1);
    expect(await delivery.runOnce()).toBe(0);
    expect(await store.outbox.get(late.key)).toMatchObject({ state: 'pending', attempts: 2 });
    clock.advance(HOUR);
    expect(await delivery.runOnce()).toBe(0);
    expect(await store.outbox.get(late.key)).toMatchObject({ state: 'failed', attempts: 2, lastError: 'expired: not delivered within 7200000 ms' });

    // Written while no worker ran; by the time one starts it is past its maximum age.
    await delivery.close();
    const stale = await change();
    clock.advance(2 * HOUR + 1);
    await receiver.up();
    const fresh = await start();
    expect(await fresh.runOnce()).toBe(0);
    expect(await store.outbox.get(stale.key)).toMatchObject({ state: 'failed', attempts: 0, lastError: expect.stringMatching(/^expired: not delivered within/) });
    expect(receiver.requests).toEqual([]);
  });

  it('lets two delivery workers share one outbox without sending a message twice', async () => {
    const { receiver, start, change, dataDir } = await setup();
    const twinStore = new SqliteStateStore(dataDir);
    closers.push(() => twinStore.close());
    const keys: string[] = [];
    for (let i = 0; i < 40; i++) keys.push((await change()).key);
    // Each worker starts a round as it starts; more rounds race on top of them.
    const [one, two] = await Promise.all([start({}), start({}, twinStore)]);
    await Promise.all([one.runOnce(), two.runOnce(), one.runOnce(), two.runOnce()]);
    expect(receiver.requests.map((r) => r.key).sort()).toEqual([...keys].sort());
    expect(receiver.requests.every((r) => r.attempt === '1')).toBe(true);
  });

  it('sends a unit\'s webhook while another unit\'s receiver hangs: one queue per unit', async () => {
    const { receiver, hanging, start, change, store, clock } = await setup();
    clock.set(Date.now());
    for (let i = 0; i < 40; i++) await change('south');
    // Real time here: the hanging receiver holds its requests open until the 10 s timeout.
    const delivery = await start({ clock: { now: () => Date.now() }, pollMs: 50 });
    await waitFor(() => hanging.open() >= DEFAULT_UNIT_CONCURRENCY || undefined, 'the hanging receiver to hold requests');
    const north = await change('north');
    delivery.kick();
    await waitFor(() => receiver.processed.get(north.key), 'the north webhook');
    // Delivered while south's first requests are still hanging, and with south's queue untouched past its lane.
    expect(hanging.open()).toBe(DEFAULT_UNIT_CONCURRENCY);
    expect(hanging.received()).toBe(DEFAULT_UNIT_CONCURRENCY);
    expect((await store.outbox.get(north.key))!.state).toBe('delivered');
    await hanging.close();
  });

  it('opens a failing unit\'s circuit after five failures in a row, probes once when it is due, and closes on success', async () => {
    const { receiver, clock, start, change, store, metrics } = await setup();
    receiver.failWith = 503;
    const keys: string[] = [];
    for (let i = 0; i < 12; i++) keys.push((await change()).key);
    const delivery = await start({ unitConcurrency: 1, breakerOpenMs: 30_000 });
    expect(await delivery.runOnce()).toBe(0);
    // Five attempts, then the circuit is open: the other seven wait untried.
    expect(receiver.requests).toHaveLength(5);
    expect(await metricValue(metrics.webhookCircuitOpen, { unit: 'north' })).toBe(1);
    clock.advance(20_000);
    expect(await delivery.runOnce()).toBe(0);
    expect(receiver.requests).toHaveLength(5);
    // Open time over: one probe, which fails, and the circuit opens for twice as long.
    clock.advance(10_000);
    await delivery.runOnce();
    expect(receiver.requests).toHaveLength(6);
    clock.advance(59_000);
    await delivery.runOnce();
    expect(receiver.requests).toHaveLength(6);
    receiver.failWith = undefined;
    clock.advance(1_000);
    expect(await delivery.runOnce()).toBeGreaterThan(6);
    expect(await metricValue(metrics.webhookCircuitOpen, { unit: 'north' })).toBe(0);
    clock.advance(3_600_000);
    await delivery.runOnce();
    expect((await Promise.all(keys.map((k) => store.outbox.get(k)))).map((m) => m!.state)).toEqual(Array(12).fill('delivered'));
  });
});

/** A receiver that accepts every request and never answers (a hung upstream). */
async function startHangingReceiver(): Promise<{ url: string; open(): number; received(): number; close(): Promise<void> }> {
  const pending = new Set<http.ServerResponse>();
  let received = 0;
  const server = http.createServer((req, res) => {
    received++;
    pending.add(res);
    res.on('close', () => pending.delete(res));
    req.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    open: () => pending.size,
    received: () => received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
