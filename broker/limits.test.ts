import { describe, expect, it } from 'vitest';
import { Metrics } from '../core/metrics.js';
import { ManualClock } from '../test/support/clock.js';
import { PublishThrottle } from './limits.js';

describe('PublishThrottle', () => {
  it('lets a burst through at once, then releases the rest in order as the clock refills', async () => {
    const clock = new ManualClock(0);
    const metrics = new Metrics({ defaultMetrics: false });
    const throttle = new PublishThrottle({ publishRate: 1, publishBurst: 2 }, clock, metrics);
    const released: number[] = [];
    const waits = [1, 2, 3, 4].map((n) => {
      const wait = throttle.acquire('dev-1');
      if (!wait) released.push(n);
      return wait?.then(() => released.push(n));
    });
    expect(released).toEqual([1, 2]);
    expect(throttle.waiting).toBe(2);
    // Another client has its own bucket.
    expect(throttle.acquire('dev-2')).toBeUndefined();
    clock.advance(2_000);
    await Promise.all(waits);
    expect(released).toEqual([1, 2, 3, 4]);
    expect(throttle.waiting).toBe(0);
    expect((await metrics.limited.get()).values).toMatchObject([{ labels: { limit: 'mqtt_publish_rate' }, value: 2 }]);
    throttle.close();
  });

  it('releases whatever waits when it closes', async () => {
    const throttle = new PublishThrottle({ publishRate: 1, publishBurst: 1 }, new ManualClock(0), new Metrics({ defaultMetrics: false }));
    throttle.acquire('dev-1');
    const waiting = throttle.acquire('dev-1');
    throttle.close();
    await expect(waiting).resolves.toBeUndefined();
  });
});
