import { describe, expect, it } from 'vitest';
import { ManualClock } from '../test/support/clock.js';
import { KeyedRateLimiter, addressKey } from './rate-limit.js';

describe('KeyedRateLimiter', () => {
  it('lets a burst through, then one action per refill period', () => {
    const clock = new ManualClock(1_000_000);
    const limit = new KeyedRateLimiter({ ratePerSecond: 2, burst: 3 }, clock);
    expect([1, 2, 3, 4].map(() => limit.take('a'))).toEqual([true, true, true, false]);
    expect(limit.waitMs('a')).toBe(500);
    clock.advance(499);
    expect(limit.take('a')).toBe(false);
    clock.advance(1);
    expect(limit.take('a')).toBe(true);
    expect(limit.take('a')).toBe(false);
    // Other keys are not affected.
    expect(limit.take('b')).toBe(true);
  });

  it('refills up to the burst only', () => {
    const clock = new ManualClock(0);
    const limit = new KeyedRateLimiter({ ratePerSecond: 1, burst: 2 }, clock);
    limit.take('a');
    limit.take('a');
    clock.advance(3_600_000);
    expect([limit.take('a'), limit.take('a'), limit.take('a')]).toEqual([true, true, false]);
  });

  it('checks without taking', () => {
    const clock = new ManualClock(0);
    const limit = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1 }, clock);
    expect(limit.has('a')).toBe(true);
    expect(limit.has('a')).toBe(true);
    expect(limit.take('a')).toBe(true);
    expect(limit.has('a')).toBe(false);
    expect(limit.waitMs('a')).toBe(1000);
  });

  it('keeps wire keys like __proto__ and constructor apart, as plain keys', () => {
    const clock = new ManualClock(0);
    const limit = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1 }, clock);
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(limit.take(key)).toBe(true);
      expect(limit.take(key)).toBe(false);
    }
    expect(({} as Record<string, unknown>).tokens).toBeUndefined();
  });

  it('remembers at most maxKeys keys, forgetting the least recently used', () => {
    const clock = new ManualClock(0);
    const limit = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 3 }, clock);
    for (const k of ['a', 'b', 'c']) limit.take(k);
    limit.take('a');
    limit.take('d');
    expect(limit.size).toBe(3);
    // b was the least recently used: forgotten, so it starts full again; a is still empty.
    expect(limit.take('b')).toBe(true);
    expect(limit.take('a')).toBe(false);
  });

  it('refuses a rate or burst that would never let anything through', () => {
    const clock = new ManualClock(0);
    expect(() => new KeyedRateLimiter({ ratePerSecond: 0, burst: 1 }, clock)).toThrow(RangeError);
    expect(() => new KeyedRateLimiter({ ratePerSecond: 1, burst: 0 }, clock)).toThrow(RangeError);
  });
});

describe('addressKey', () => {
  it('keys IPv4 by address, IPv4-mapped IPv6 as IPv4, IPv6 by its /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});
