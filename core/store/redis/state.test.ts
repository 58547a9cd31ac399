import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceErrorLogContract } from '../../../test/contract/device-errors.contract.js';
import { sampleTicket, stateContract } from '../../../test/contract/state.contract.js';
import { dropNamespace, testNamespace, testServices } from '../../../test/support/backends.js';
import { isStreetWatchError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import type { StateStore } from '../../ports.js';
import { RedisStateStore } from './state.js';

const services = testServices();
const logger = createLogger(process.env.SW_TEST_LOG ?? 'silent');

describe.skipIf(!services)('RedisStateStore', () => {
  const used: string[] = [];
  const open = async (namespace = testNamespace()): Promise<RedisStateStore> => {
    if (!used.includes(namespace)) used.push(namespace);
    const s = new RedisStateStore({ url: services!.REDIS_URL, namespace, logger });
    await s.connect();
    return s;
  };
  afterAll(() => Promise.all(used.map((ns) => dropNamespace(services!, ns))));

  // Each store gets a namespace of its own, as each SQLite store gets its own file; a twin is
  // another connection to the same namespace: what another instance sees.
  const namespaceOf = new WeakMap<StateStore, string>();
  stateContract(
    'redis',
    async () => {
      const namespace = testNamespace();
      const s = await open(namespace);
      namespaceOf.set(s, namespace);
      return s;
    },
    { twin: (s) => open(namespaceOf.get(s)) },
  );
  deviceErrorLogContract('redis', () => open());

  it('lets exactly one of many instances open a ticket for a merge key', async () => {
    const namespace = testNamespace();
    const instances = await Promise.all(Array.from({ length: 4 }, () => open(namespace)));
    const mergeKey = `race|${namespace}`;
    const attempts = instances.flatMap((s, i) => [0, 1, 2].map((j) => s.tickets.save(sampleTicket({ id: `SW-RACE-${i}-${j}`, mergeKey }))));
    const outcomes = await Promise.allSettled(attempts);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(isStreetWatchError(o.reason, 'SW_ERR_TICKET_CONFLICT')).toBe(true);
    const winner = await instances[0]!.tickets.findOpen(mergeKey);
    expect(winner).toBeDefined();
    await Promise.all(instances.map((s) => s.close()));
  });

  it('keeps what it stored across a new connection', async () => {
    const namespace = testNamespace();
    const first = await open(namespace);
    const t = sampleTicket();
    await first.tickets.save(t);
    await first.close();
    const second = await open(namespace);
    expect(await second.tickets.get(t.id)).toEqual(t);
    expect((await second.tickets.findOpen(t.mergeKey))?.id).toBe(t.id);
    await second.close();
  });

  it('puts webhook messages pending from before the per-unit queues into their unit\'s queue at start-up', async () => {
    const namespace = testNamespace();
    used.push(namespace);
    // The earlier layout: the message's hash and the global due set only.
    const raw = new Redis(services!.REDIS_URL);
    const P = `${namespace}sw:`;
    await raw.hset(`${P}ob:old-1`, { channel: 'webhook', sc: 'north', tid: 'SW-OLD', event: 'ticket.created', body: '{}', ca: '5', attempts: '0', next: '5', state: 'pending' });
    await raw.zadd(`${P}obdue`, 5, 'old-1');
    await raw.quit();
    const upgraded = await open(namespace);
    expect(await upgraded.outbox.receiversDue(10, 10)).toEqual(['north']);
    expect((await upgraded.outbox.claim('north', 10, 10, 'a', 1_000)).map((m) => m.id)).toEqual(['old-1']);
    await upgraded.close();
  });

  it('answers SW_ERR_UNAVAILABLE, naming the URL without its password, when Redis cannot be reached', async () => {
    const s = new RedisStateStore({ url: 'redis://:hunter2@127.0.0.1:1', logger, connectTimeoutMs: 1_000 });
    const failure = await s.connect().catch((e: unknown) => e);
    expect(isStreetWatchError(failure, 'SW_ERR_UNAVAILABLE')).toBe(true);
    expect((failure as Error).message).toContain('Redis at redis://127.0.0.1:1');
    expect((failure as Error).message).not.toContain('hunter2');
    await s.close();
  });
});
