/**
 * Webhook delivery against a real HTTP receiver: it goes down and comes back, loses a response
 * after acting on it, and still acts on each delivery once, by its Idempotency-Key. Backoff
 * and the maximum age run on a controllable clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../core/bus/memory.js';
import { loadCity } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import { createLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { Ticket } from '../core/schemas.js';
import { SqliteStateStore } from '../core/store/sqlite/state.js';
import { ManualClock } from '../test/support/clock.js';
import { cityWithWebhooks, tempDir } from '../test/support/harness.js';
import { IdempotentReceiver } from '../test/support/webhook-receiver.js';
import { sampleTicket } from '../test/contract/state.contract.js';
import { startDelivery, type Delivery, type DeliveryOptions } from './delivery.js';
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
    const city = new CityIndex(loadCity(cityWithWebhooks({ north: { url: receiver.url, secret: SECRET } })));
    const dataDir = tempDir('delivery');
    const store = new SqliteStateStore(dataDir);
    closers.push(() => store.close());
    const clock = new ManualClock(T0);
    const metrics = new Metrics({ defaultMetrics: false });
    const bus = new MemoryBus();
    closers.push(() => bus.close());
    const commit: CommitContext = { tickets: store.tickets, bus, cityIndex: () => city, metrics };
    const start = async (over: Partial<DeliveryOptions> = {}, s = store): Promise<Delivery> => {
      const d = await startDelivery({ outbox: s.outbox, bus: new MemoryBus(), cityIndex: () => city, clock, metrics, logger: createLogger('silent'), pollMs: 3_600_000, maxAgeMs: 2 * HOUR, ...over });
      closers.push(() => d.close());
      return d;
    };
    let n = 0;
    const change = async (): Promise<{ ticket: Ticket; key: string }> => {
      const ticket = sampleTicket({ subcenterId: 'north', createdAt: clock.now(), id: `SW-T-${++n}` });
      await commitTicket(commit, ticket, 'ticket.created', clock.now());
      return { ticket, key: outboxMessageId(ticket, 'north') };
    };
    return { receiver, store, clock, start, change, dataDir };
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
});
