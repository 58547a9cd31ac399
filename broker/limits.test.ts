import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../test/support/clock.js';
import { ClientStream } from './client-stream.js';
import { ClientThrottle } from './limits.js';

const connection = (): ClientStream => new ClientStream(new PassThrough(), { inflight: 64, maxQueuedBytes: 1024 * 1024 }, () => undefined);

describe('ClientThrottle', () => {
  it('lets a burst through at once, then releases the rest in order as the clock refills, not reading the connection meanwhile', async () => {
    const clock = new ManualClock(0);
    let limited = 0;
    const throttle = new ClientThrottle({ ratePerSecond: 1, burst: 2 }, clock, () => limited++);
    const conn = connection();
    const released: number[] = [];
    const waits = [1, 2, 3, 4].map((n) => {
      const wait = throttle.acquire('dev-1', conn);
      if (!wait) released.push(n);
      return wait?.then((go) => go && released.push(n));
    });
    expect(released).toEqual([1, 2]);
    expect(throttle.waiting).toBe(2);
    expect(conn.reading).toBe(false);
    // Another client has its own bucket.
    expect(throttle.acquire('dev-2', connection())).toBeUndefined();
    clock.advance(2_000);
    await Promise.all(waits);
    expect(released).toEqual([1, 2, 3, 4]);
    expect(throttle.waiting).toBe(0);
    expect(conn.reading).toBe(true);
    expect(limited).toBe(2);
    throttle.close();
  });

  it('drops what a connection had waiting when it closes, and queues a new connection of the same client behind nothing', async () => {
    const clock = new ManualClock(0);
    const throttle = new ClientThrottle({ ratePerSecond: 1, burst: 1 }, clock, () => undefined);
    const old = connection();
    expect(throttle.acquire('dev-1', old)).toBeUndefined();
    const waiting = Array.from({ length: 50 }, () => throttle.acquire('dev-1', old));
    old.destroy();
    expect(await Promise.all(waiting)).toEqual(Array(50).fill(false));
    expect(throttle.waiting).toBe(0);
    // The bucket is the client's: the next connection waits for one token, not for fifty.
    const next = connection();
    const turn = throttle.acquire('dev-1', next);
    expect(turn).toBeDefined();
    clock.advance(1_000);
    expect(await turn).toBe(true);
    throttle.close();
  });

  it('drops whatever waits when it closes', async () => {
    const throttle = new ClientThrottle({ ratePerSecond: 1, burst: 1 }, new ManualClock(0), () => undefined);
    const conn = connection();
    throttle.acquire('dev-1', conn);
    const waiting = throttle.acquire('dev-1', conn);
    throttle.close();
    await expect(waiting).resolves.toBe(false);
    expect(conn.reading).toBe(true);
  });
});
