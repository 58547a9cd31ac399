/**
 * The address limits a clustered broker keeps in Redis (broker/cluster/shared-limits.ts), on
 * the real Redis of infra/local: two nodes' buckets are one bucket, each key expires, addresses
 * never appear in keys; and when Redis is away or silent each node decides alone, on its own
 * bucket, instead of failing or admitting everyone.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { systemClock } from '../../core/ports.js';
import { SharedBuckets, sharedConnectRate, sharedLoginThrottle } from '../../broker/cluster/shared-limits.js';
import { dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { metricValue } from '../support/harness.js';
import { freePort } from '../support/services.js';

const services = testServices();
const logger = createLogger('silent');
const RATE = { ratePerSecond: 1, burst: 3 };
const LOGIN = { burst: 2, refillMs: 3_600_000, limitLoopback: true };

describe.skipIf(!services)('address limits shared by broker nodes in Redis', () => {
  const namespace = testNamespace();
  const prefix = `${namespace}sw:mqtt:`;
  let nodeA: SharedBuckets;
  let nodeB: SharedBuckets;
  let redis: Redis;

  beforeAll(async () => {
    nodeA = new SharedBuckets({ url: services!.REDIS_URL, prefix, metrics: new Metrics(), logger });
    nodeB = new SharedBuckets({ url: services!.REDIS_URL, prefix, metrics: new Metrics(), logger });
    redis = new Redis(services!.REDIS_URL);
    await Promise.all([nodeA.connected(), nodeB.connected()]);
  });

  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await redis?.quit();
    if (services) await dropNamespace(services, namespace);
  });

  it('counts one connection rate per address across nodes', async () => {
    const onA = sharedConnectRate(nodeA, RATE, systemClock);
    const onB = sharedConnectRate(nodeB, RATE, systemClock);
    // Alternating nodes, as a balancer spreads them: 3 in all, not 3 each.
    const got = [];
    for (let i = 0; i < 6; i++) got.push(await (i % 2 === 0 ? onA : onB)('198.51.100.7'));
    expect(got.filter(Boolean)).toHaveLength(3);
    expect(got.slice(0, 3)).toEqual([true, true, true]);
    // Another address has its own bucket.
    expect(await onB('198.51.100.8')).toBe(true);
  });

  it('keeps each bucket under a hashed key that expires', async () => {
    const keys = await redis.keys(`${prefix}limit:*`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).not.toContain('198.51.100');
      const ttl = await redis.pttl(key);
      // burst ÷ rate = 3 s at most, and set.
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3_001);
    }
  });

  it('locks an address out on every node once it failed its logins on one', async () => {
    const onA = sharedLoginThrottle(nodeA, LOGIN, systemClock);
    const onB = sharedLoginThrottle(nodeB, LOGIN, systemClock);
    expect(await onB.refusedFor('203.0.113.9')).toBe(0);
    await onA.failed('203.0.113.9');
    expect(await onB.refusedFor('203.0.113.9')).toBe(0);
    await onA.failed('203.0.113.9');
    expect(await onB.refusedFor('203.0.113.9')).toBeGreaterThan(0);
    expect(await onA.refusedFor('203.0.113.9')).toBeGreaterThan(0);
    expect(await onB.refusedFor('203.0.113.10')).toBe(0);
  });
});

describe('address limits when Redis is away', () => {
  const silent: net.Socket[] = [];
  let mute: net.Server;

  afterAll(async () => {
    for (const s of silent) s.destroy();
    await new Promise((resolve) => mute?.close(resolve));
  });

  /** Each node keeps its own limit: neither everyone admitted nor everyone refused. */
  async function decidesAlone(url: string): Promise<void> {
    const metrics = new Metrics();
    const buckets = new SharedBuckets({ url, prefix: 'swtest-none.', metrics, logger, timeoutMs: 200 });
    try {
      const connect = sharedConnectRate(buckets, RATE, systemClock);
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await connect('192.0.2.1'));
      expect(got).toEqual([true, true, true, false, false]);
      const login = sharedLoginThrottle(buckets, LOGIN, systemClock);
      await login.failed('192.0.2.2');
      expect(await login.refusedFor('192.0.2.2')).toBe(0);
      await login.failed('192.0.2.2');
      expect(await login.refusedFor('192.0.2.2')).toBeGreaterThan(0);
      expect(await metricValue(metrics.limitFallbacks, { limit: 'connect' })).toBe(5);
    } finally {
      await buckets.close();
    }
  }

  it('decides on the node when nothing listens where Redis should be', async () => {
    await decidesAlone(`redis://127.0.0.1:${await freePort()}`);
  });

  it('decides on the node when Redis accepts but does not answer', async () => {
    mute = net.createServer((s) => void silent.push(s.on('error', () => undefined)));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    await decidesAlone(`redis://127.0.0.1:${(mute.address() as net.AddressInfo).port}`);
  });
});
