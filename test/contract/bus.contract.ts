/**
 * The contract every Bus adapter passes. Each test uses its own group names, and the factory
 * gives each test a fresh bus, so adapters backed by a shared server stay independent.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { StreetWatchError, swError } from '../../core/errors.js';
import type { Bus, BusRecord } from '../../core/ports.js';
import type { DeadLetter, RawPublish } from '../../core/schemas.js';

function letter(deviceId: string, n: number): DeadLetter {
  return { ref: `r${n}`, deviceId, clientId: deviceId, topic: `v1/devices/${deviceId}/telemetry`, code: 'SW_ERR_PAYLOAD_JSON', message: `m${n}`, receivedAt: n, payload: '', truncated: false };
}

/** Generous: a consumer group joins in about a second, but a loaded machine stretches that. */
async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What an adapter offers beyond the common contract; the matching tests run only then. */
export interface BusCapabilities {
  /** Several members of one consumer group (processes) split the work. */
  groupMembers?: boolean;
  /** Records and committed positions outlive the subscription (a log, not a queue). */
  durable?: boolean;
}

/**
 * `makeBus` gives a bus connected to the same backend and topics each time it is called within
 * one test (members of a group are separate buses, as separate processes would be).
 */
export function busContract(name: string, makeBus: () => Promise<Bus>, caps: BusCapabilities = {}): void {
  describe(`Bus contract: ${name}`, () => {
    const open: Bus[] = [];
    const bus = async (): Promise<Bus> => {
      const b = await makeBus();
      open.push(b);
      return b;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    it('delivers every record to each consumer group, in order per key', async () => {
      const b = await bus();
      const seenA: DeadLetter[] = [];
      const seenB: DeadLetter[] = [];
      const group = randomUUID();
      await b.subscribe('sw.deadletter', `${group}-a`, async (rs) => void seenA.push(...rs.map((r) => r.value)));
      await b.subscribe('sw.deadletter', `${group}-b`, async (rs) => void seenB.push(...rs.map((r) => r.value)));
      const records: BusRecord<DeadLetter>[] = [];
      for (let i = 0; i < 200; i++) records.push({ key: `dev-${i % 3}`, value: letter(`dev-${i % 3}`, i) });
      await b.publish('sw.deadletter', records);
      await until(() => seenA.length === 200 && seenB.length === 200);
      for (const seen of [seenA, seenB]) {
        for (const key of ['dev-0', 'dev-1', 'dev-2']) {
          const order = seen.filter((d) => d.deviceId === key).map((d) => d.receivedAt);
          expect(order).toEqual([...order].sort((x, y) => x - y));
        }
      }
    });

    it('takes one publish larger than a broker accepts in a request, on one key, in order', async () => {
      const b = await bus();
      const seen: number[] = [];
      await b.subscribe('sw.deadletter', randomUUID(), async (rs) => void seen.push(...rs.map((r) => r.value.receivedAt)));
      // About 3 MB on one partition: three times a Kafka broker's default record batch limit.
      const filler = 'x'.repeat(1_000);
      const records = Array.from({ length: 3_000 }, (_, i) => ({ key: 'dev-big', value: { ...letter('dev-big', i), payload: filler } }));
      await b.publish('sw.deadletter', records);
      await until(() => seen.length >= records.length, 60_000);
      expect(seen).toEqual(records.map((_, i) => i));
    });

    it('hands a batch again after the handler throws (at-least-once)', async () => {
      const b = await bus();
      let failures = 0;
      const seen: number[] = [];
      await b.subscribe('sw.deadletter', randomUUID(), async (rs) => {
        if (failures < 2) {
          failures++;
          throw new Error('transient');
        }
        seen.push(...rs.map((r) => r.value.receivedAt));
      });
      await b.publish('sw.deadletter', [1, 2, 3].map((n) => ({ key: 'k', value: letter('k', n) })));
      await until(() => seen.length >= 3);
      expect(failures).toBe(2);
      expect([...new Set(seen)].sort()).toEqual([1, 2, 3]);
    });

    it('runs a batch\'s follow-ups after what it published is on the bus, and not for a failed attempt', async () => {
      const b = await bus();
      const downstream: number[] = [];
      await b.subscribe('sw.readings', randomUUID(), async (rs) => void downstream.push(...rs.map((r) => r.value.ts)));
      let failures = 0;
      const followed: number[][] = [];
      await b.subscribe('sw.deadletter', randomUUID(), async (rs, batch) => {
        const ns = rs.map((r) => r.value.receivedAt);
        batch.publish('sw.readings', ns.map((n) => ({ key: 'k', value: { deviceId: 'k', metric: 'smoke', value: 1, ts: n, receivedAt: 0, zoneIds: [], ref: 'x' } })));
        batch.afterCommit(async () => {
          // What the batch published is durable by now: a group reading it gets it.
          await until(() => ns.every((n) => downstream.includes(n)));
          followed.push(ns);
        });
        if (failures < 1) {
          failures++;
          throw new Error('transient');
        }
      });
      await b.publish('sw.deadletter', [1, 2, 3].map((n) => ({ key: 'k', value: letter('k', n) })));
      await until(() => followed.flat().length >= 3);
      expect(followed.flat()).toEqual([1, 2, 3]);
      expect(failures).toBe(1);
      // The failed attempt published nothing either.
      expect(downstream).toEqual([1, 2, 3]);
    });

    it('keeps values intact through the adapter', async () => {
      const b = await bus();
      let got: DeadLetter | undefined;
      await b.subscribe('sw.deadletter', randomUUID(), async (rs) => {
        got = rs[0]!.value;
      });
      const sent = { ...letter('dev-x', 42), message: '井盖 ✓ "quoted"', payload: Buffer.from([0, 255, 10]).toString('base64'), truncated: true };
      await b.publish('sw.deadletter', [{ key: 'dev-x', value: sent }]);
      await until(() => got !== undefined);
      expect(got).toEqual(sent);
    });

    it('carries raw publishes with their payload bytes', async () => {
      const b = await bus();
      let got: RawPublish | undefined;
      await b.subscribe('sw.raw', randomUUID(), async (rs) => {
        got = rs[0]!.value;
      });
      const payload = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x7d]);
      const raw: RawPublish = { id: randomUUID(), clientId: 'dev-1', topic: 'v1/devices/dev-1/telemetry', payload, qos: 1, receivedAt: 1_700_000_000_123 };
      await b.publish('sw.raw', [{ key: 'dev-1', value: raw }]);
      await until(() => got !== undefined);
      expect(Buffer.isBuffer(got!.payload)).toBe(true);
      expect(got!.payload.equals(payload)).toBe(true);
      expect({ ...got!, payload: undefined }).toEqual({ ...raw, payload: undefined });
    });

    it('stops delivering to a closed subscription', async () => {
      const b = await bus();
      const seen: number[] = [];
      const sub = await b.subscribe('sw.deadletter', randomUUID(), async (rs) => void seen.push(...rs.map((r) => r.value.receivedAt)));
      await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 1) }]);
      await until(() => seen.length === 1);
      await sub.close();
      await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 2) }]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen).toEqual([1]);
    });

    it('treats one group name on two topics as two groups', async () => {
      const b = await bus();
      const group = randomUUID();
      const letters: number[] = [];
      const raws: number[] = [];
      await b.subscribe('sw.deadletter', group, async (rs) => void letters.push(...rs.map((r) => r.value.receivedAt)));
      await b.subscribe('sw.raw', group, async (rs) => void raws.push(...rs.map((r) => r.value.receivedAt)));
      const keys = Array.from({ length: 20 }, (_, i) => `dev-${i}`);
      await b.publish('sw.deadletter', keys.map((k, i) => ({ key: k, value: letter(k, i) })));
      await b.publish(
        'sw.raw',
        keys.map((k, i) => ({ key: k, value: { id: randomUUID(), clientId: k, topic: `v1/devices/${k}/telemetry`, payload: Buffer.from('{}'), qos: 1, receivedAt: i } })),
      );
      await until(() => letters.length >= 20 && raws.length >= 20);
      expect(new Set(letters).size).toBe(20);
      expect(new Set(raws).size).toBe(20);
    });

    it('starts a group that asks for the latest after what was published before it', async () => {
      const b = await bus();
      await b.publish('sw.deadletter', [1, 2, 3].map((n) => ({ key: 'k', value: letter('k', n) })));
      const seen: number[] = [];
      await b.subscribe('sw.deadletter', randomUUID(), async (rs) => void seen.push(...rs.map((r) => r.value.receivedAt)), { from: 'latest' });
      // What is published from now on arrives; keep publishing until some has.
      for (let n = 100; seen.length === 0; n++) {
        if (n > 400) throw new Error('nothing published after subscribing arrived');
        await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', n) }]);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen.every((n) => n >= 100)).toBe(true);
    });

    it.runIf(caps.durable)('resumes a group that asked for the latest where it started, when it rejoins', async () => {
      // A consumer rejoins its group after a crash (Kafka restarted): records published since
      // the subscription must still arrive, even if it had handled none before.
      const group = randomUUID();
      const first = await bus();
      const sub = await first.subscribe('sw.deadletter', group, async () => undefined, { from: 'latest' });
      await sub.close();
      await first.publish('sw.deadletter', [1, 2, 3].map((n) => ({ key: 'k', value: letter('k', n) })));
      const seen: number[] = [];
      const second = await bus();
      await second.subscribe('sw.deadletter', group, async (rs) => void seen.push(...rs.map((r) => r.value.receivedAt)), { from: 'latest' });
      await until(() => seen.length >= 3);
      expect(seen).toEqual([1, 2, 3]);
    });

    it('finishes the batch in hand before a closing subscription resolves', async () => {
      const b = await bus();
      let inHandler = false;
      let finished = 0;
      const entered = deferred();
      const sub = await b.subscribe(
        'sw.deadletter',
        randomUUID(),
        async (rs) => {
          inHandler = true;
          entered.resolve();
          await new Promise((r) => setTimeout(r, 300));
          finished += rs.length;
          inHandler = false;
        },
        { maxBatch: 5 },
      );
      void b.publish('sw.deadletter', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ key: 'k', value: letter('k', n) }))).catch(() => undefined);
      await entered.promise;
      await sub.close();
      expect(inHandler).toBe(false);
      expect(finished).toBeGreaterThanOrEqual(5);
    });

    it.runIf(caps.durable)('resumes a group after the last batch whose handler resolved, never before it', async () => {
      const group = randomUUID();
      const first = await bus();
      const handled: number[] = [];
      const failing = deferred();
      const sub = await first.subscribe(
        'sw.deadletter',
        group,
        async (rs) => {
          // The first batch's side effects succeed; the next batch's fail until the member leaves.
          if (handled.length >= 5) {
            failing.resolve();
            throw new Error('store down');
          }
          handled.push(...rs.map((r) => r.value.receivedAt));
        },
        { maxBatch: 5 },
      );
      await first.publish('sw.deadletter', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ key: 'k', value: letter('k', n) })));
      await failing.promise;
      await sub.close();
      expect(handled).toEqual([1, 2, 3, 4, 5]);

      const second = await bus();
      const resumed: number[] = [];
      await second.subscribe('sw.deadletter', group, async (rs) => void resumed.push(...rs.map((r) => r.value.receivedAt)));
      await until(() => resumed.length >= 5);
      expect(resumed).toEqual([6, 7, 8, 9, 10]);
    });

    it('parks a record whose failure is not retriable, with its cause, lets the rest through in order, and replays it', { timeout: 90_000 }, async () => {
      const b = await bus();
      const group = randomUUID();
      const seen: number[] = [];
      let fixed = false;
      await b.subscribe('sw.deadletter', group, async (rs) => {
        // A record this code cannot handle (until it is fixed): the whole batch fails with it.
        if (!fixed && rs.some((r) => r.value.receivedAt === 3)) throw swError('SW_ERR_INTERNAL', 'record 3 cannot be processed');
        seen.push(...rs.map((r) => r.value.receivedAt));
      });
      await b.publish('sw.deadletter', [1, 2, 3, 4, 5].map((n) => ({ key: 'k', value: letter('k', n) })));
      await until(() => seen.length >= 4);
      expect(seen).toEqual([1, 2, 4, 5]);
      const parked = await untilParked(b, group, 1);
      expect(parked[0]).toMatchObject({ topic: 'sw.deadletter', group, key: 'k', value: letter('k', 3), cause: { code: 'SW_ERR_INTERNAL', message: expect.stringContaining('record 3') }, attempts: 1, replayedAt: null });

      fixed = true;
      const replayed = await b.replayParked(parked[0]!.id);
      expect(replayed).toMatchObject({ id: parked[0]!.id, replayedAt: expect.any(Number) });
      await until(() => seen.includes(3));
      expect(seen).toEqual([1, 2, 4, 5, 3]);
      expect((await b.listParked({ group }))[0]).toMatchObject({ id: parked[0]!.id, replayedAt: replayed!.replayedAt });
      expect(await b.replayParked(randomUUID())).toBeUndefined();
    });

    it('parks a record that fails every attempt, after the last one, and moves on', { timeout: 90_000 }, async () => {
      const b = await bus();
      const group = randomUUID();
      const seen: number[] = [];
      let tries = 0;
      await b.subscribe('sw.deadletter', group, async (rs) => {
        if (rs.some((r) => r.value.receivedAt === 7)) {
          tries++;
          throw new Error('flaky dependency');
        }
        seen.push(...rs.map((r) => r.value.receivedAt));
      });
      await b.publish('sw.deadletter', [6, 7, 8].map((n) => ({ key: 'k', value: letter('k', n) })));
      await until(() => seen.length >= 2);
      expect(seen).toEqual([6, 8]);
      const [p] = await untilParked(b, group, 1);
      // Five attempts as a batch, then five alone (DEFAULT_MAX_ATTEMPTS).
      expect(p).toMatchObject({ value: letter('k', 7), attempts: 5, cause: { code: 'SW_ERR_INTERNAL', message: 'Error: flaky dependency' } });
      expect(tries).toBe(10);
    });

    it('waits out a service that is unavailable, however many attempts it takes, and parks nothing', { timeout: 90_000 }, async () => {
      const b = await bus();
      const group = randomUUID();
      const seen: number[] = [];
      let failures = 0;
      await b.subscribe('sw.deadletter', group, async (rs) => {
        if (failures < 6) {
          failures++;
          throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['the store', 'connection refused']);
        }
        seen.push(...rs.map((r) => r.value.receivedAt));
      });
      await b.publish('sw.deadletter', [1, 2].map((n) => ({ key: 'k', value: letter('k', n) })));
      await until(() => seen.length >= 2);
      expect(failures).toBe(6);
      expect(seen).toEqual([1, 2]);
      expect(await b.listParked({ group })).toEqual([]);
    });

    it.runIf(caps.groupMembers)('splits a group between its members, each key staying in order', { timeout: 90_000 }, async () => {
      const group = randomUUID();
      const members = [await bus(), await bus()];
      const seen: DeadLetter[][] = [[], []];
      for (const [i, m] of members.entries()) await m.subscribe('sw.deadletter', group, async (rs) => void seen[i]!.push(...rs.map((r) => r.value)));
      const producer = members[0]!;
      // Until both members hold partitions, the first to join takes everything: keep the keys
      // coming until each member has had some.
      let n = 0;
      const keys = Array.from({ length: 32 }, (_, i) => `dev-${i}`);
      while (seen[0]!.length === 0 || seen[1]!.length === 0) {
        await producer.publish('sw.deadletter', keys.map((k) => ({ key: k, value: letter(k, n++) })));
        await new Promise((r) => setTimeout(r, 100));
        if (n > 32 * 300) throw new Error('the second member never received anything');
      }
      const total = n;
      await producer.publish('sw.deadletter', keys.map((k) => ({ key: k, value: letter(k, n++) })));
      await until(() => new Set([...seen[0]!, ...seen[1]!].map((d) => d.receivedAt)).size === total + keys.length);
      for (const view of seen) {
        for (const key of keys) {
          const order = view.filter((d) => d.deviceId === key).map((d) => d.receivedAt);
          expect(order).toEqual([...order].sort((x, y) => x - y));
        }
      }
    });
  });
}

/** The parked records of a group, once there are `n` (parking and listing may lag the delivery of the rest). */
async function untilParked(b: Bus, group: string, n: number): Promise<Awaited<ReturnType<Bus['listParked']>>> {
  const end = Date.now() + 60_000;
  for (;;) {
    const parked = await b.listParked({ group });
    if (parked.length >= n) return parked;
    if (Date.now() > end) throw new Error(`timed out waiting for ${n} parked records of group ${group}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
