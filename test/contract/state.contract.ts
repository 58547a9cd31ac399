/**
 * The contract every StateStore adapter passes: devices, tickets with optimistic concurrency
 * and the one-open-ticket-per-merge-key guard, the outbox, and the key-value store.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isStreetWatchError } from '../../core/errors.js';
import type { OutboxMessage, StateStore } from '../../core/ports.js';
import type { DeviceRecord, Ticket } from '../../core/schemas.js';

export function sampleTicket(over: Partial<Ticket> = {}): Ticket {
  const id = over.id ?? `SW-TEST-${randomUUID().slice(0, 8)}`;
  return {
    id,
    grade: 'B',
    category: 'flooding',
    department: 'water-affairs',
    subcenterId: `sc-${randomUUID().slice(0, 6)}`,
    routedToFallback: false,
    zoneId: 'z-1',
    ruleId: 'r-1',
    mergeKey: `r-1|zone:${randomUUID()}`,
    status: 'dispatched',
    title: 't',
    createdAt: 1_000,
    updatedAt: 1_000,
    respondBy: 2_000,
    resolveBy: 3_000,
    location: { lat: 23.1, lon: 113.3 },
    alerts: [],
    timeline: [{ at: 1_000, actor: 'system', action: 'created' }],
    version: 1,
    ...over,
  };
}

function device(id: string): DeviceRecord {
  return { id, kind: 'water_level', location: { lat: 23.1, lon: 113.3 }, secretHash: 'scrypt$x', createdAt: 1, status: 'unknown', lastSeen: null };
}

export function stateContract(name: string, makeStore: () => Promise<StateStore>): void {
  describe(`StateStore contract: ${name}`, () => {
    const open: StateStore[] = [];
    const store = async (): Promise<StateStore> => {
      const s = await makeStore();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('adds, reads, updates and removes devices; a taken id is SW_ERR_DEVICE_EXISTS', async () => {
      const s = await store();
      const id = `dev-${randomUUID().slice(0, 8)}`;
      await s.devices.add(device(id));
      await expect(s.devices.add(device(id))).rejects.toSatisfy((e) => isStreetWatchError(e, 'SW_ERR_DEVICE_EXISTS'));
      expect(await s.devices.get(id)).toEqual(device(id));
      expect((await s.devices.list()).some((d) => d.id === id)).toBe(true);
      expect(await s.devices.setSecretHash(id, 'scrypt$y')).toBe(true);
      await s.devices.setStatus(id, 'online', 50);
      await s.devices.touch([id], 40);
      const updated = await s.devices.get(id);
      expect(updated).toMatchObject({ secretHash: 'scrypt$y', status: 'online', lastSeen: 50 });
      expect(await s.devices.remove(id)).toBe(true);
      expect(await s.devices.remove(id)).toBe(false);
      expect(await s.devices.get(id)).toBeUndefined();
      expect(await s.devices.setSecretHash(id, 'z')).toBe(false);
    });

    it('saves tickets with optimistic concurrency', async () => {
      const s = await store();
      const t = sampleTicket();
      await s.tickets.save(t);
      expect(await s.tickets.get(t.id)).toEqual(t);
      const v2 = { ...t, status: 'acknowledged' as const, version: 2 };
      await s.tickets.save(v2);
      // A writer still holding version 1 loses.
      await expect(s.tickets.save({ ...t, status: 'resolved', version: 2 })).rejects.toSatisfy((e) => isStreetWatchError(e, 'SW_ERR_TICKET_CONFLICT'));
      expect((await s.tickets.get(t.id))!.status).toBe('acknowledged');
    });

    it('holds at most one open ticket per merge key, and frees the key on close', async () => {
      const s = await store();
      const a = sampleTicket();
      await s.tickets.save(a);
      const b = sampleTicket({ mergeKey: a.mergeKey });
      await expect(s.tickets.save(b)).rejects.toSatisfy((e) => isStreetWatchError(e, 'SW_ERR_TICKET_CONFLICT'));
      expect((await s.tickets.findOpen(a.mergeKey))!.id).toBe(a.id);
      await s.tickets.save({ ...a, status: 'closed', version: 2 });
      expect(await s.tickets.findOpen(a.mergeKey)).toBeUndefined();
      await s.tickets.save(b);
      expect((await s.tickets.findOpen(a.mergeKey))!.id).toBe(b.id);
    });

    it('lists tickets by sub-center and status, newest first', async () => {
      const s = await store();
      const sc = `sc-${randomUUID().slice(0, 6)}`;
      const t1 = sampleTicket({ subcenterId: sc, createdAt: 10 });
      const t2 = sampleTicket({ subcenterId: sc, createdAt: 20, status: 'acknowledged' });
      await s.tickets.save(t1);
      await s.tickets.save(t2);
      await s.tickets.save(sampleTicket());
      expect((await s.tickets.list({ subcenterId: sc })).map((t) => t.id)).toEqual([t2.id, t1.id]);
      expect((await s.tickets.list({ subcenterId: sc, status: 'dispatched' })).map((t) => t.id)).toEqual([t1.id]);
      expect((await s.tickets.list({ subcenterId: sc, status: ['dispatched', 'acknowledged'], limit: 1 })).map((t) => t.id)).toEqual([t2.id]);
    });

    it('writes outbox messages with the ticket and tracks their delivery', async () => {
      const s = await store();
      const t = sampleTicket();
      const msg: OutboxMessage = { id: randomUUID(), channel: 'webhook', subcenterId: t.subcenterId, ticketId: t.id, event: 'ticket.created', body: '{}', createdAt: 100 };
      await s.tickets.save(t, [msg]);
      const due = (await s.outbox.due(100, 1000)).filter((m) => m.id === msg.id);
      expect(due).toEqual([{ ...msg, attempts: 0, nextAttemptAt: 100, lastError: null, state: 'pending' }]);
      await s.outbox.markFailed(msg.id, 1, 500, 'HTTP 503');
      expect((await s.outbox.due(499, 1000)).some((m) => m.id === msg.id)).toBe(false);
      expect((await s.outbox.due(500, 1000)).some((m) => m.id === msg.id)).toBe(true);
      await s.outbox.markDelivered(msg.id, 600);
      expect(await s.outbox.get(msg.id)).toMatchObject({ state: 'delivered', attempts: 2, lastError: null });
      expect((await s.outbox.due(10_000, 1000)).some((m) => m.id === msg.id)).toBe(false);
      const gone = { ...msg, id: randomUUID() };
      await s.tickets.save({ ...t, version: 2 }, [gone]);
      await s.outbox.markFailed(gone.id, 7, null, 'expired');
      expect(await s.outbox.get(gone.id)).toMatchObject({ state: 'failed', attempts: 7, lastError: 'expired' });
    });

    it('stores JSON values by key; undefined deletes', async () => {
      const s = await store();
      const k = (n: string): string => `test:${randomUUID()}:${n}`;
      const [a, b] = [k('a'), k('b')];
      await s.kv.setMany(new Map<string, unknown>([[a, { phase: 'pending', since: 5 }], [b, [1, 2]]]));
      expect(await s.kv.getMany([a, b, k('missing')])).toEqual(new Map<string, unknown>([[a, { phase: 'pending', since: 5 }], [b, [1, 2]]]));
      await s.kv.setMany(new Map([[a, undefined]]));
      expect([...(await s.kv.getMany([a, b])).keys()]).toEqual([b]);
    });
  });
}
