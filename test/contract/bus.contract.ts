/**
 * The contract every Bus adapter passes. Each test uses its own group names, and the factory
 * gives each test a fresh bus, so adapters backed by a shared server stay independent.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusRecord } from '../../core/ports.js';
import type { DeadLetter, RawPublish } from '../../core/schemas.js';

function letter(deviceId: string, n: number): DeadLetter {
  return { ref: `r${n}`, deviceId, clientId: deviceId, topic: `v1/devices/${deviceId}/telemetry`, code: 'SW_ERR_PAYLOAD_JSON', message: `m${n}`, receivedAt: n, payload: '', truncated: false };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function busContract(name: string, makeBus: () => Promise<Bus>): void {
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
  });
}
