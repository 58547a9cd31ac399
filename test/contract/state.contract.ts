/**
 * The contract every StateStore adapter passes: devices, tickets with optimistic concurrency
 * and the one-open-ticket-per-merge-key guard, ticket timers claimed exactly once, supervision
 * orders, the outbox with leases, API tokens, and the key-value store (with its compare-and-set).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_OUTBOX_POLICY } from '../../core/config.js';
import { isStreetWatchError } from '../../core/errors.js';
import type { ApiTokenRecord, KeyValueStore, OutboxMessage, ReportRecord, StateStore } from '../../core/ports.js';
import { provisionedDevice, type DeviceRecord, type SupervisionOrder, type Ticket, type TicketTimer, type TimerKind } from '../../core/schemas.js';

export function sampleTicket(over: Partial<Ticket> = {}): Ticket {
  const id = over.id ?? `SW-TEST-${randomUUID().slice(0, 8)}`;
  return {
    id,
    grade: 'B',
    baseGrade: 'B',
    gradeReasons: [],
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
    dispatchedAt: 1_000,
    respondBy: 2_000,
    resolveBy: 3_000,
    respondedAt: null,
    resolvedAt: null,
    closedAt: null,
    closure: null,
    location: { lat: 23.1, lon: 113.3 },
    alerts: [],
    alertCount: 1,
    devices: ['wl-1'],
    firstSeen: 900,
    lastSeen: 900,
    reminders: [],
    overdue: [],
    red: false,
    supervisionOrderIds: [],
    timeline: [{ at: 1_000, actor: 'system', action: 'created' }],
    version: 1,
    ...over,
  };
}

const timer = (ticketId: string, kind: TimerKind, dueAt: number): TicketTimer => ({ id: `${ticketId}/${kind}`, ticketId, kind, dueAt });

function order(t: Ticket, over: Partial<SupervisionOrder> = {}): SupervisionOrder {
  return {
    id: `${t.id}-S1`,
    ticketId: t.id,
    subcenterId: t.subcenterId,
    issuedTo: `parent-${randomUUID().slice(0, 6)}`,
    reason: 'response_overdue',
    deadline: t.respondBy,
    status: 'issued',
    createdAt: 2_000,
    updatedAt: 2_000,
    timeline: [{ at: 2_000, actor: 'system', action: 'issued' }],
    ...over,
  };
}

export interface StateContractOptions {
  /** A second handle on the same backing store (another process or instance). */
  twin?: (store: StateStore) => Promise<StateStore>;
}

function device(id: string): DeviceRecord {
  return provisionedDevice({ id, kind: 'water_level', location: { lat: 23.1, lon: 113.3 } }, 'scrypt$x', 1);
}

export function stateContract(name: string, makeStore: () => Promise<StateStore>, opts: StateContractOptions = {}): void {
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
    // Timers of every test share a backend that other tests also write: claims use far-future
    // times in disjoint ranges so they never pick up another test's timers.
    let era = 0;
    const eraStart = (): number => 1e15 + ++era * 1e9 + Math.floor(Math.random() * 1e6) * 1e3;

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

    it('keeps the provisioning for trust: mobile, the gateway a device is spoken for by, its SenML name and table', async () => {
      const s = await store();
      const gw = `gw-${randomUUID().slice(0, 8)}`;
      const [a, b] = [`${gw}-a`, `${gw}-b`];
      await s.devices.add(device(gw));
      await s.devices.add({ ...device(a), gateway: gw, senml: { name: 'urn:dev:ow:aa', map: [{ suffix: 'open', metric: 'manhole_open' }] } });
      await s.devices.add({ ...device(b), gateway: gw, mobile: true });
      expect(await s.devices.get(a)).toMatchObject({ mobile: false, gateway: gw, senml: { name: 'urn:dev:ow:aa', map: [{ suffix: 'open', metric: 'manhole_open' }] } });
      expect((await s.devices.children(gw, 10)).map((d) => [d.id, d.mobile])).toEqual([[a, false], [b, true]]);
      expect((await s.devices.children(gw, 1)).map((d) => d.id)).toEqual([a]);

      // Moved to no gateway, made mobile, renamed: the gateway's list follows.
      const moved = await s.devices.update(a, { gateway: null, mobile: true, senml: { name: null, map: [] }, location: { lat: 23.2, lon: 113.4 } });
      expect(moved).toMatchObject({ id: a, gateway: null, mobile: true, senml: { name: null, map: [] }, location: { lat: 23.2, lon: 113.4 }, kind: 'water_level' });
      expect(await s.devices.get(a)).toEqual(moved);
      expect((await s.devices.children(gw, 10)).map((d) => d.id)).toEqual([b]);
      await s.devices.update(a, { gateway: gw });
      expect((await s.devices.children(gw, 10)).map((d) => d.id)).toEqual([a, b]);
      expect(await s.devices.update(`${gw}-none`, { mobile: true })).toBeUndefined();
      // A removed device leaves its gateway's list.
      await s.devices.remove(b);
      expect((await s.devices.children(gw, 10)).map((d) => d.id)).toEqual([a]);
    });

    it('merges the trust state ingest saves: times and positions only move forward, metric names only grow', async () => {
      const s = await store();
      const id = `tr-${randomUUID().slice(0, 8)}`;
      await s.devices.add(device(id));
      expect(await s.devices.get(id)).toMatchObject({ lastReadingAt: null, position: null, metrics: [] });
      await s.devices.saveTrust([{ id, lastReadingAt: 2000, position: { lat: 23.1, lon: 113.3, ts: 2000 }, metrics: ['water_level', 'battery_v'] }, { id: `${id}-none`, lastReadingAt: 1, position: null, metrics: ['x'] }]);
      // An older save (another instance, a late flush) moves nothing back and adds what it knows.
      await s.devices.saveTrust([{ id, lastReadingAt: 1000, position: { lat: 1, lon: 1, ts: 1000 }, metrics: ['rainfall'] }]);
      expect(await s.devices.get(id)).toMatchObject({ lastReadingAt: 2000, position: { lat: 23.1, lon: 113.3, ts: 2000 }, metrics: ['water_level', 'battery_v', 'rainfall'] });
      await s.devices.saveTrust([{ id, lastReadingAt: 1_764_000_000_123, position: null, metrics: [] }]);
      expect(await s.devices.get(id)).toMatchObject({ lastReadingAt: 1_764_000_000_123, position: { lat: 23.1, lon: 113.3, ts: 2000 } });
      expect(await s.devices.get(`${id}-none`)).toBeUndefined();
      // A save that knows nothing newer leaves every part as it was; one that knows a new name or
      // a later position moves that part alone.
      await s.devices.saveTrust([{ id, lastReadingAt: 5, position: { lat: 2, lon: 2, ts: 5 }, metrics: ['rainfall'] }]);
      expect(await s.devices.get(id)).toMatchObject({ lastReadingAt: 1_764_000_000_123, position: { lat: 23.1, lon: 113.3, ts: 2000 }, metrics: ['water_level', 'battery_v', 'rainfall'] });
      await s.devices.saveTrust([{ id, lastReadingAt: null, position: null, metrics: ['noise_db'] }]);
      expect(await s.devices.get(id)).toMatchObject({ lastReadingAt: 1_764_000_000_123, position: { lat: 23.1, lon: 113.3, ts: 2000 }, metrics: ['water_level', 'battery_v', 'rainfall', 'noise_db'] });
      await s.devices.saveTrust([{ id, lastReadingAt: null, position: { lat: 23.2, lon: 113.4, ts: 3000 }, metrics: [] }]);
      expect(await s.devices.get(id)).toMatchObject({ lastReadingAt: 1_764_000_000_123, position: { lat: 23.2, lon: 113.4, ts: 3000 }, metrics: ['water_level', 'battery_v', 'rainfall', 'noise_db'] });
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

    it('tells the outbox\'s listeners of a committed save that wrote messages, and of no other', async () => {
      const s = await store();
      const t = sampleTicket();
      const seen: number[] = [];
      // What a listener sees when it is called: the message is already there to claim.
      const stop = s.outbox.onWritten(() => seen.push(Date.now()));
      let found: boolean | undefined;
      const check = s.outbox.onWritten(() => void s.outbox.get(msg.id).then((m) => (found = m !== undefined)));
      const msg: OutboxMessage = { id: randomUUID(), channel: 'webhook', subcenterId: t.subcenterId, ticketId: t.id, event: 'ticket.created', body: '{}', createdAt: 100 };
      await s.tickets.save(t, [msg]);
      expect(seen).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(found).toBe(true);
      check();
      // A change with no message (a quiet one), and a save that lost its race: nothing to send.
      await s.tickets.save({ ...t, version: 2 }, []);
      await expect(s.tickets.save({ ...t, version: 2 }, [{ ...msg, id: randomUUID() }])).rejects.toMatchObject({ code: 'SW_ERR_TICKET_CONFLICT' });
      expect(seen).toHaveLength(1);
      stop();
      await s.tickets.save({ ...t, version: 3 }, [{ ...msg, id: randomUUID() }]);
      expect(seen).toHaveLength(1);
    });

    it('finds the open ticket holding an alert, by fingerprint', async () => {
      const s = await store();
      const fp = `rule/dev-${randomUUID()}`;
      const alert = { id: `${fp}@1:firing`, fingerprint: fp, deviceId: 'd', ruleId: 'r', metric: 'm', value: 1, status: 'firing' as const, firstSeen: 1, lastSeen: 1 };
      const t = sampleTicket({ alerts: [alert] });
      await s.tickets.save(t);
      expect((await s.tickets.findOpenByAlert(fp))?.id).toBe(t.id);
      expect(await s.tickets.findOpenByAlert(`${fp}-other`)).toBeUndefined();
      await s.tickets.save({ ...t, status: 'closed', version: 2 });
      expect(await s.tickets.findOpenByAlert(fp)).toBeUndefined();
    });

    it('finds the newest ticket that listed a fingerprint, open or closed, for replays of closed incidents', async () => {
      const s = await store();
      const fp = `rule/dev-${randomUUID()}`;
      const entry = (id: string) => ({ id, fingerprint: fp, deviceId: 'd', ruleId: 'r', metric: 'm', value: 1, status: 'firing' as const, firstSeen: 1, lastSeen: 1, startsAt: 1 });
      expect(await s.tickets.lastByAlert(fp)).toBeUndefined();
      const first = sampleTicket({ createdAt: 100, alerts: [entry(`${fp}@1:firing`)], appliedAlertIds: [`${fp}@1:firing`] });
      await s.tickets.save(first);
      await s.tickets.save({ ...first, status: 'closed', version: 2 });
      expect(await s.tickets.lastByAlert(fp)).toMatchObject({ id: first.id, status: 'closed', appliedAlertIds: [`${fp}@1:firing`] });
      const second = sampleTicket({ createdAt: 200, alerts: [entry(`${fp}@9:firing`)] });
      await s.tickets.save(second);
      expect((await s.tickets.lastByAlert(fp))?.id).toBe(second.id);
      // A later save of the older ticket does not take the fingerprint back.
      await s.tickets.save({ ...first, status: 'closed', version: 3 });
      expect((await s.tickets.lastByAlert(fp))?.id).toBe(second.id);
    });

    it('lists tickets by grade and creation window', async () => {
      const s = await store();
      const sc = `sc-${randomUUID().slice(0, 6)}`;
      const a = sampleTicket({ subcenterId: sc, grade: 'A', createdAt: 100 });
      const b = sampleTicket({ subcenterId: sc, grade: 'B', createdAt: 200 });
      const c = sampleTicket({ subcenterId: sc, grade: 'C', createdAt: 300 });
      for (const t of [a, b, c]) await s.tickets.save(t);
      expect((await s.tickets.list({ subcenterId: sc, grade: 'B' })).map((t) => t.id)).toEqual([b.id]);
      expect((await s.tickets.list({ subcenterId: sc, grade: ['A', 'C'] })).map((t) => t.id)).toEqual([c.id, a.id]);
      expect((await s.tickets.list({ subcenterId: sc, createdFrom: 200, createdTo: 300 })).map((t) => t.id)).toEqual([b.id]);
    });

    it('replaces a ticket\'s timers with each save, atomically with it', async () => {
      const s = await store();
      const t0 = eraStart();
      const t = sampleTicket();
      await s.tickets.save(t, [], { timers: [timer(t.id, 'response_due', t0 + 20), timer(t.id, 'response_reminder', t0 + 10)] });
      expect(await s.timers.forTicket(t.id)).toEqual([timer(t.id, 'response_reminder', t0 + 10), timer(t.id, 'response_due', t0 + 20)]);
      // Without `timers` the stored ones stay; a conflicting save changes none of them.
      await s.tickets.save({ ...t, version: 2 });
      await expect(s.tickets.save({ ...t, version: 2 }, [], { timers: [] })).rejects.toSatisfy((e) => isStreetWatchError(e, 'SW_ERR_TICKET_CONFLICT'));
      expect(await s.timers.forTicket(t.id)).toHaveLength(2);
      await s.tickets.save({ ...t, version: 3 }, [], { timers: [timer(t.id, 'close_hold', t0 + 30)] });
      expect(await s.timers.forTicket(t.id)).toEqual([timer(t.id, 'close_hold', t0 + 30)]);
      await s.tickets.save({ ...t, status: 'closed', version: 4 }, [], { timers: [] });
      expect(await s.timers.forTicket(t.id)).toEqual([]);
    });

    it('claims each due timer once until its lease ends; the claimer alone completes it', async () => {
      const s = await store();
      const t0 = eraStart();
      const t = sampleTicket();
      const due = timer(t.id, 'response_due', t0 + 100);
      const later = timer(t.id, 'resolution_due', t0 + 5_000);
      await s.tickets.save(t, [], { timers: [due, later] });
      expect(await s.timers.claimDue(t0 + 99, 10, 'a', 1_000)).toEqual([]);
      expect(await s.timers.claimDue(t0 + 100, 10, 'a', 1_000)).toEqual([due]);
      expect(await s.timers.claimDue(t0 + 200, 10, 'b', 1_000)).toEqual([]);
      expect(await s.timers.complete(due.id, 'b')).toBe(false);
      // The lease of a claimer that died runs out and another instance takes the timer over.
      expect(await s.timers.claimDue(t0 + 1_100, 10, 'b', 1_000)).toEqual([due]);
      expect(await s.timers.complete(due.id, 'a')).toBe(false);
      expect(await s.timers.complete(due.id, 'b')).toBe(true);
      expect(await s.timers.forTicket(t.id)).toEqual([later]);
    });

    it('keeps a claim across a save that keeps the due time, and frees a timer that moved', async () => {
      const s = await store();
      const t0 = eraStart();
      const t = sampleTicket();
      await s.tickets.save(t, [], { timers: [timer(t.id, 'response_due', t0 + 10), timer(t.id, 'resolution_due', t0 + 20)] });
      expect(await s.timers.claimDue(t0 + 20, 10, 'a', 1_000)).toHaveLength(2);
      await s.tickets.save({ ...t, version: 2 }, [], { timers: [timer(t.id, 'response_due', t0 + 10), timer(t.id, 'resolution_due', t0 + 15)] });
      expect(await s.timers.claimDue(t0 + 20, 10, 'b', 1_000)).toEqual([timer(t.id, 'resolution_due', t0 + 15)]);
    });

    it('lets concurrent claimers share due timers without overlap', async () => {
      const s = await store();
      const other = opts.twin ? await opts.twin(s) : s;
      if (other !== s) open.push(other);
      const t0 = eraStart();
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const t = sampleTicket();
        ids.push(`${t.id}/response_due`);
        await s.tickets.save(t, [], { timers: [timer(t.id, 'response_due', t0 + i)] });
      }
      const claims = await Promise.all([
        ...Array.from({ length: 5 }, () => s.timers.claimDue(t0 + 100, 3, 'a', 60_000)),
        ...Array.from({ length: 5 }, () => other.timers.claimDue(t0 + 100, 3, 'b', 60_000)),
      ]);
      const claimed = claims.flat().map((c) => c.id);
      expect(claimed.length).toBe(new Set(claimed).size);
      expect(claimed.length).toBe(20);
      expect(new Set(claimed)).toEqual(new Set(ids));
    });

    it('stores supervision orders with their ticket and finds them by unit, ticket and status', async () => {
      const s = await store();
      const t = sampleTicket({ supervisionOrderIds: [] });
      const o = order(t);
      await s.tickets.save({ ...t, supervisionOrderIds: [o.id] }, [], { supervisionOrders: [o] });
      expect(await s.supervision.get(o.id)).toEqual(o);
      expect((await s.supervision.list({ unitId: o.issuedTo })).map((x) => x.id)).toEqual([o.id]);
      expect((await s.supervision.list({ unitId: t.subcenterId })).map((x) => x.id)).toEqual([o.id]);
      expect((await s.supervision.list({ ticketId: t.id, status: 'closed' }))).toEqual([]);
      const acked = { ...o, status: 'acknowledged' as const, updatedAt: 3_000 };
      await s.tickets.save({ ...t, supervisionOrderIds: [o.id], version: 2 }, [], { supervisionOrders: [acked] });
      expect(await s.supervision.get(o.id)).toEqual(acked);
      expect((await s.supervision.list({ ticketId: t.id, status: 'acknowledged' })).map((x) => x.id)).toEqual([o.id]);
      // A lost race on the ticket writes no order.
      await expect(s.tickets.save({ ...t, version: 2 }, [], { supervisionOrders: [{ ...o, status: 'closed' }] })).rejects.toSatisfy((e) =>
        isStreetWatchError(e, 'SW_ERR_TICKET_CONFLICT'),
      );
      expect((await s.supervision.get(o.id))!.status).toBe('acknowledged');
    });

    it('leases outbox messages to one delivery worker at a time and lists them per ticket', async () => {
      const s = await store();
      const other = opts.twin ? await opts.twin(s) : s;
      if (other !== s) open.push(other);
      const t0 = eraStart();
      const t = sampleTicket();
      const msgs: OutboxMessage[] = [0, 1, 2].map((i) => ({ id: randomUUID(), channel: 'webhook', subcenterId: t.subcenterId, ticketId: t.id, event: 'ticket.updated', body: `{"n":${i}}`, createdAt: t0 + i }));
      await s.tickets.save(t, msgs);
      const unit = t.subcenterId;
      expect(await s.outbox.receiversDue(t0 + 10, 1000)).toContain(unit);
      expect(await s.outbox.claim(`${unit}-other`, t0 + 10, 1000, 'a', 100)).toEqual([]);
      const [a, b] = await Promise.all([s.outbox.claim(unit, t0 + 10, 1000, 'a', 100), other.outbox.claim(unit, t0 + 10, 1000, 'b', 100)]);
      const mine = (items: { id: string }[]) => items.map((m) => m.id).filter((id) => msgs.some((m) => m.id === id));
      expect([...mine(a!), ...mine(b!)].sort()).toEqual(msgs.map((m) => m.id).sort());
      expect(mine(await s.outbox.claim(unit, t0 + 50, 1000, 'c', 100))).toEqual([]);
      await s.outbox.markDelivered(msgs[0]!.id, t0 + 60);
      await s.outbox.markFailed(msgs[1]!.id, 1, t0 + 70, 'HTTP 500');
      // Failure ends the lease: due again at its next attempt; the third one's lease expires.
      expect(mine(await s.outbox.claim(unit, t0 + 110, 1000, 'c', 100)).sort()).toEqual([msgs[1]!.id, msgs[2]!.id].sort());
      const state = await s.outbox.forTicket(t.id);
      expect(state.map((m) => m.id)).toEqual(msgs.map((m) => m.id));
      expect(state[0]).toMatchObject({ state: 'delivered', nextAttemptAt: t0 + 60, attempts: 1 });
      expect(state[1]).toMatchObject({ state: 'pending', attempts: 1, lastError: 'HTTP 500' });
      await s.outbox.markDelivered(msgs[1]!.id, t0 + 120);
      await s.outbox.markDelivered(msgs[2]!.id, t0 + 120);
      expect(await s.outbox.receiversDue(t0 + 1_000, 1000)).not.toContain(unit);
    });

    it('coalesces a burst of changes of one ticket into one message per unit, the latest state, a window after the previous one', async () => {
      const s = await store();
      const t0 = eraStart();
      const t = sampleTicket();
      const unit = t.subcenterId;
      const msg = (v: number, over: Partial<OutboxMessage> = {}): OutboxMessage => ({
        id: `${t.id}/v${v}/${unit}`, channel: 'webhook', subcenterId: unit, ticketId: t.id, event: 'ticket.updated', body: `{"v":${v}}`, createdAt: t0 + v, coalesce: true, ...over,
      });
      await s.tickets.save(t, [msg(1, { event: 'ticket.created', coalesce: false })]);
      // Created goes at once; the first update waits the window (2 s by default) after it.
      for (let v = 2; v <= 30; v++) await s.tickets.save({ ...t, version: v }, [msg(v)]);
      let state = await s.outbox.forTicket(t.id);
      expect(state.map((m) => [m.id, m.event, m.body, m.nextAttemptAt])).toEqual([
        [`${t.id}/v1/${unit}`, 'ticket.created', '{"v":1}', t0 + 1],
        [`${t.id}/v30/${unit}`, 'ticket.updated', '{"v":30}', t0 + 1 + DEFAULT_OUTBOX_POLICY.coalesceMs],
      ]);
      // Claimed (in flight): the next change waits its own window, and the one after joins it.
      expect((await s.outbox.claim(unit, t0 + 1 + DEFAULT_OUTBOX_POLICY.coalesceMs, 10, 'a', 60_000)).map((m) => m.id)).toEqual([`${t.id}/v1/${unit}`, `${t.id}/v30/${unit}`]);
      await s.tickets.save({ ...t, version: 31 }, [msg(31)]);
      await s.tickets.save({ ...t, version: 32 }, [msg(32)]);
      // A change that must not wait (a closing) takes the waiting message's place and goes at once.
      await s.tickets.save({ ...t, version: 33 }, [msg(33, { event: 'ticket.closed', coalesce: false })]);
      state = await s.outbox.forTicket(t.id);
      expect(state.map((m) => [m.id, m.event, m.body, m.nextAttemptAt])).toEqual([
        [`${t.id}/v1/${unit}`, 'ticket.created', '{"v":1}', t0 + 1],
        [`${t.id}/v30/${unit}`, 'ticket.updated', '{"v":30}', t0 + 1 + DEFAULT_OUTBOX_POLICY.coalesceMs],
        [`${t.id}/v33/${unit}`, 'ticket.closed', '{"v":33}', t0 + 33],
      ]);
      // Nothing replaces a message that was tried: its key keeps its one body.
      await s.outbox.markFailed(`${t.id}/v33/${unit}`, 1, t0 + 99_000, 'HTTP 503');
      await s.tickets.save({ ...t, version: 34 }, [msg(34)]);
      expect((await s.outbox.get(`${t.id}/v33/${unit}`))!.body).toBe('{"v":33}');
      expect((await s.outbox.get(`${t.id}/v34/${unit}`))!.nextAttemptAt).toBe(t0 + 99_000 + DEFAULT_OUTBOX_POLICY.coalesceMs);
    });

    it('holds each unit\'s backlog to its cap, giving the oldest message up', async () => {
      const s = await store();
      const t0 = eraStart();
      const unit = `sc-${randomUUID().slice(0, 6)}`;
      const ids: string[] = [];
      for (let i = 0; i < DEFAULT_OUTBOX_POLICY.maxPendingPerUnit + 3; i++) {
        const t = sampleTicket({ subcenterId: unit });
        const m: OutboxMessage = { id: `${t.id}/v1/${unit}`, channel: 'webhook', subcenterId: unit, ticketId: t.id, event: 'ticket.created', body: '{}', createdAt: t0 + i };
        ids.push(m.id);
        await s.tickets.save(t, [m]);
      }
      const dropped = await Promise.all(ids.slice(0, 3).map((id) => s.outbox.get(id)));
      expect(dropped.map((m) => [m!.state, m!.lastError])).toEqual(Array(3).fill(['failed', `dropped: more than ${DEFAULT_OUTBOX_POLICY.maxPendingPerUnit} messages were waiting for this unit`]));
      expect((await s.outbox.get(ids[3]!))!.state).toBe('pending');
      const claimed = await s.outbox.claim(unit, t0 + 1e6, 10_000, 'a', 60_000);
      expect(claimed).toHaveLength(DEFAULT_OUTBOX_POLICY.maxPendingPerUnit);
    });

    it('keeps ingest tokens by hash, apart from API tokens, and revokes them', async () => {
      const s = await store();
      const system = `sys-${randomUUID().slice(0, 8)}`;
      const tok = { id: randomUUID(), deviceId: system, tokenHash: randomUUID().replaceAll('-', '').padEnd(64, '0'), label: 'water affairs', createdAt: 7, revokedAt: null };
      await s.ingestTokens.add(tok);
      expect(await s.ingestTokens.findByHash(tok.tokenHash)).toEqual(tok);
      expect(await s.tokens.findByHash(tok.tokenHash)).toBeUndefined();
      expect(await s.ingestTokens.list(system)).toEqual([tok]);
      expect((await s.ingestTokens.list()).some((t) => t.id === tok.id)).toBe(true);
      expect(await s.ingestTokens.revoke(tok.id, 9)).toBe(true);
      expect(await s.ingestTokens.revoke(tok.id, 10)).toBe(false);
      expect(await s.ingestTokens.findByHash(tok.tokenHash)).toEqual({ ...tok, revokedAt: 9 });
    });

    it('lists a department\'s tickets: those it leads and those it co-handles, not after a release', async () => {
      const s = await store();
      const dept = `dp-${randomUUID().slice(0, 6)}`;
      const other = `dp-${randomUUID().slice(0, 6)}`;
      const co = (department: string, status: 'summoned' | 'released') => ({
        department,
        source: 'plan' as const,
        status,
        summonedAt: 1,
        summonedBy: 'system',
        checkInBy: 2,
        checkedInAt: null,
        finishedAt: null,
        releasedAt: status === 'released' ? 3 : null,
        remindedAt: null,
        missedAt: null,
      });
      const led = sampleTicket({ department: dept, createdAt: 3_000 });
      const joined = sampleTicket({ department: other, createdAt: 2_000, coHandlers: [co(dept, 'summoned')] });
      const unrelated = sampleTicket({ department: other, createdAt: 1_000 });
      for (const t of [led, joined, unrelated]) await s.tickets.save(t);
      expect((await s.tickets.list({ department: dept })).map((t) => t.id)).toEqual([led.id, joined.id]);
      expect((await s.tickets.list({ department: dept, subcenterId: joined.subcenterId })).map((t) => t.id)).toEqual([joined.id]);
      expect((await s.tickets.list({ department: dept, status: 'closed' })).map((t) => t.id)).toEqual([]);
      await s.tickets.save({ ...joined, coHandlers: [co(dept, 'released')], version: 2 });
      expect((await s.tickets.list({ department: dept })).map((t) => t.id)).toEqual([led.id]);
      expect((await s.tickets.list({ department: other })).map((t) => t.id)).toEqual([joined.id, unrelated.id]);
    });

    it('lists the tickets of several holders at once (a sub-center with its communities and grids)', async () => {
      const s = await store();
      const [a, b, c] = [0, 1, 2].map(() => `u-${randomUUID().slice(0, 6)}`);
      const ta = sampleTicket({ subcenterId: a!, createdAt: 1_000 });
      const tb = sampleTicket({ subcenterId: b!, createdAt: 3_000 });
      const tc = sampleTicket({ subcenterId: c!, createdAt: 2_000 });
      for (const t of [ta, tb, tc]) await s.tickets.save(t);
      expect((await s.tickets.list({ subcenterId: [a!, b!] })).map((t) => t.id)).toEqual([tb.id, ta.id]);
      expect((await s.tickets.list({ subcenterId: [a!, b!, c!], limit: 2 })).map((t) => t.id)).toEqual([tb.id, tc.id]);
      expect(await s.tickets.list({ subcenterId: [] })).toEqual([]);
    });

    it('keeps people\'s reports and photos until their expiry, links a report to the ticket that took it in', async () => {
      const s = await store();
      const filer = `unit:${randomUUID().slice(0, 6)}`;
      const report = (n: number, over: Partial<ReportRecord> = {}): ReportRecord => ({
        id: `RP-T-${randomUUID().slice(0, 8)}`,
        channel: 'grid',
        filedBy: filer,
        actor: filer,
        category: 'flooding',
        grade: 'C',
        location: { lat: 23.1, lon: 113.3 },
        note: `第 ${n} 份`,
        address: null,
        photoId: null,
        mediaUrl: null,
        confirmTokenHash: 'ab'.repeat(32),
        createdAt: 1_000 + n,
        expiresAt: 10_000 + n,
        ticketId: null,
        ...over,
      });
      const [r1, r2] = [report(1), report(2, { channel: 'open311', mediaUrl: 'https://example.test/p.jpg', address: '北隧道口' })];
      await s.reports.add(r1!);
      await s.reports.add(r2!);
      expect(await s.reports.get(r2!.id)).toEqual(r2);
      expect((await s.reports.list({ filedBy: filer })).map((r) => r.id)).toEqual([r2!.id, r1!.id]);
      expect(await s.reports.list({ filedBy: 'unit:nobody' })).toEqual([]);
      // The ticket's save links the report, once: a later ticket does not take it over.
      const t = sampleTicket();
      await s.tickets.save(t, [], { reportLinks: [r1!.id, 'RP-no-such-report'] });
      await s.tickets.save(sampleTicket(), [], { reportLinks: [r1!.id] });
      expect((await s.reports.get(r1!.id))?.ticketId).toBe(t.id);
      expect(await s.reports.get('RP-no-such-report')).toBeUndefined();
      const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 2, 0xff, 0xd9]);
      const photo = { id: `PH-${randomUUID()}`, contentType: 'image/jpeg' as const, bytes, filedBy: filer, createdAt: 1_000, expiresAt: 10_001 };
      await s.reports.addPhoto(photo);
      expect(await s.reports.photo(photo.id)).toEqual(photo);
      // Retention: past its expiry a report or photo is gone, with its index entries.
      expect(await s.reports.prune(10_000, 100)).toBe(0);
      expect(await s.reports.prune(10_001, 100)).toBeGreaterThanOrEqual(2);
      expect(await s.reports.get(r1!.id)).toBeUndefined();
      expect(await s.reports.photo(photo.id)).toBeUndefined();
      expect((await s.reports.list({ filedBy: filer })).map((r) => r.id)).toEqual([r2!.id]);
      expect(await s.reports.prune(10_002, 100)).toBeGreaterThanOrEqual(1);
      expect(await s.reports.list({ filedBy: filer })).toEqual([]);
    });

    it('prunes at most `limit` expired reports per call', async () => {
      const s = await store();
      const filer = `key:${randomUUID().slice(0, 6)}`;
      const base = { channel: 'open311' as const, filedBy: filer, actor: 'reporter:x', category: 'fire', grade: 'C' as const, location: { lat: 23.1, lon: 113.3 }, note: 'n', address: null, photoId: null, mediaUrl: null, confirmTokenHash: 'cd'.repeat(32), ticketId: null };
      for (let i = 0; i < 5; i++) await s.reports.add({ ...base, id: `RP-L-${randomUUID().slice(0, 8)}`, createdAt: 20 + i, expiresAt: 30 + i });
      // Other tests' expired rows may share the store: prune them first, then count ours.
      while ((await s.reports.prune(29, 1000)) > 0);
      expect(await s.reports.prune(40, 2)).toBe(2);
      expect(await s.reports.list({ filedBy: filer })).toHaveLength(3);
      while ((await s.reports.prune(40, 2)) > 0);
      expect(await s.reports.list({ filedBy: filer })).toEqual([]);
    });

    it('prunes settled outbox messages by age, never pending ones, and takes them out of their ticket', async () => {
      const s = await store();
      const t0 = eraStart();
      const t = sampleTicket();
      const msgs: OutboxMessage[] = [0, 1, 2, 3].map((i) => ({ id: randomUUID(), channel: 'webhook', subcenterId: t.subcenterId, ticketId: t.id, event: 'ticket.updated', body: `{"n":${i}}`, createdAt: t0 + i }));
      await s.tickets.save(t, msgs);
      await s.outbox.markDelivered(msgs[0]!.id, t0 + 100);
      await s.outbox.markFailed(msgs[1]!.id, 3, null, 'expired');
      await s.outbox.markDelivered(msgs[2]!.id, t0 + 5_000);
      await s.outbox.markFailed(msgs[3]!.id, 1, t0 + 50, 'HTTP 500');
      let pruned = 0;
      for (let n; (n = await s.outbox.pruneSettled(t0 + 1_000, 1)) > 0; ) pruned += n;
      expect(pruned).toBe(2);
      expect((await s.outbox.forTicket(t.id)).map((m) => m.id)).toEqual([msgs[2]!.id, msgs[3]!.id]);
      expect(await s.outbox.get(msgs[0]!.id)).toBeUndefined();
      // Still pending however old: the delivery worker owns it.
      expect(await s.outbox.pruneSettled(t0 + 10_000_000, 100)).toBe(1);
      expect((await s.outbox.forTicket(t.id)).map((m) => [m.id, m.state])).toEqual([[msgs[3]!.id, 'pending']]);
    });

    it('keeps API tokens by hash and revokes them', async () => {
      const s = await store();
      const unit = `sc-${randomUUID().slice(0, 6)}`;
      const tok: ApiTokenRecord = { id: randomUUID(), unitId: unit, kind: 'unit', tokenHash: randomUUID().replaceAll('-', ''), label: 'duty desk', createdAt: 5, revokedAt: null };
      const wall: ApiTokenRecord = { ...tok, id: randomUUID(), kind: 'display', tokenHash: randomUUID().replaceAll('-', ''), label: 'wall', createdAt: 6 };
      await s.tokens.add(tok);
      expect(await s.tokens.findByHash(tok.tokenHash)).toEqual(tok);
      expect(await s.tokens.findByHash('0'.repeat(64))).toBeUndefined();
      await s.tokens.add(wall);
      expect(await s.tokens.findByHash(wall.tokenHash)).toEqual(wall);
      expect(await s.tokens.list(unit)).toEqual([tok, wall]);
      // Department and reporter tokens keep their kind.
      const dept = `dp-${randomUUID().slice(0, 6)}`;
      const ofDept: ApiTokenRecord = { ...tok, id: randomUUID(), unitId: dept, kind: 'department', tokenHash: randomUUID().replaceAll('-', ''), label: '水务值班', createdAt: 6 };
      const reporter: ApiTokenRecord = { ...tok, id: randomUUID(), kind: 'reporter', tokenHash: randomUUID().replaceAll('-', ''), label: '12345', createdAt: 7 };
      await s.tokens.add(ofDept);
      await s.tokens.add(reporter);
      expect(await s.tokens.findByHash(ofDept.tokenHash)).toEqual(ofDept);
      expect(await s.tokens.findByHash(reporter.tokenHash)).toEqual(reporter);
      expect(await s.tokens.list(unit)).toEqual([tok, wall, reporter]);
      expect(await s.tokens.list(dept)).toEqual([ofDept]);
      expect((await s.tokens.list()).some((t) => t.id === tok.id)).toBe(true);
      expect(await s.tokens.revoke(tok.id, 9)).toBe(true);
      expect(await s.tokens.revoke(tok.id, 10)).toBe(false);
      expect(await s.tokens.findByHash(tok.tokenHash)).toEqual({ ...tok, revokedAt: 9 });
    });
  });

  keyValueContract(`${name} kv`, async () => {
    const s = await makeStore();
    return { kv: s.kv, close: () => s.close() };
  });
}

/**
 * The contract of the key-value store on its own, for adapters that exist without the rest of
 * a StateStore (the in-memory one backtests use). Keys are random per test.
 */
export function keyValueContract(name: string, makeKv: () => Promise<{ kv: KeyValueStore; close(): Promise<void> }>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    const open: { close(): Promise<void> }[] = [];
    const kvStore = async (): Promise<KeyValueStore> => {
      const s = await makeKv();
      open.push(s);
      return s.kv;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });
    const k = (n: string): string => `test:${randomUUID()}:${n}`;

    it('stores JSON values by key; undefined deletes', async () => {
      const kv = await kvStore();
      const [a, b] = [k('a'), k('b')];
      await kv.setMany(new Map<string, unknown>([[a, { phase: 'pending', since: 5 }], [b, [1, 2]]]));
      expect(await kv.getMany([a, b, k('missing')])).toEqual(new Map<string, unknown>([[a, { phase: 'pending', since: 5 }], [b, [1, 2]]]));
      await kv.setMany(new Map([[a, undefined]]));
      expect([...(await kv.getMany([a, b])).keys()]).toEqual([b]);
    });

    it('compares and sets: absent, the value as read, a stale value, and delete', async () => {
      const kv = await kvStore();
      const a = k('cas');
      expect(await kv.compareAndSet(a, undefined, { phase: 'ok', n: 1 })).toBe(true);
      expect(await kv.compareAndSet(a, undefined, { phase: 'ok', n: 2 })).toBe(false);
      const read = (await kv.getMany<{ phase: string; n: number }>([a])).get(a);
      expect(await kv.compareAndSet(a, read, { ...read, n: 2 })).toBe(true);
      // Still holding the first read: loses, and the value stays.
      expect(await kv.compareAndSet(a, read, { ...read, n: 3 })).toBe(false);
      expect((await kv.getMany([a])).get(a)).toEqual({ phase: 'ok', n: 2 });
      expect(await kv.compareAndSet(a, { phase: 'ok', n: 2 }, undefined)).toBe(true);
      expect(await kv.getMany([a])).toEqual(new Map());
      expect(await kv.compareAndSet(k('never'), { phase: 'ok' }, 1)).toBe(false);
    });

    it('applies several compare-and-sets at once, each winning or losing on its own', async () => {
      const kv = await kvStore();
      const [a, b, c] = [k('many-a'), k('many-b'), k('many-c')];
      await kv.setMany(new Map([[a, { n: 1 }], [b, { n: 1 }]]));
      expect(await kv.compareAndSetMany([])).toEqual([]);
      expect(
        await kv.compareAndSetMany([
          { key: a, expected: { n: 1 }, next: { n: 2 } },
          { key: b, expected: { n: 9 }, next: { n: 2 } },
          { key: c, expected: undefined, next: { n: 1 } },
        ]),
      ).toEqual([true, false, true]);
      expect(await kv.getMany([a, b, c])).toEqual(new Map([[a, { n: 2 }], [b, { n: 1 }], [c, { n: 1 }]]));
      expect(await kv.compareAndSetMany([{ key: a, expected: { n: 2 }, next: undefined }])).toEqual([true]);
      expect((await kv.getMany([a])).has(a)).toBe(false);
    });

    it('deletes every key under a prefix, and only those', async () => {
      const kv = await kvStore();
      const base = k('dev');
      const mine = [`${base}:a`, `${base}:rule:x`, `${base}:rule:x:deadman`];
      const others = [`${base}x:a`, `${base.slice(0, -1)}:a`, k('other')];
      await kv.setMany(new Map([...mine, ...others].map((key) => [key, 1])));
      expect(await kv.deletePrefix(`${base}:`)).toBe(3);
      expect([...(await kv.getMany([...mine, ...others])).keys()].sort()).toEqual([...others].sort());
      expect(await kv.deletePrefix(`${base}:`)).toBe(0);
    });

    it('lists keys by prefix page by page, each once', async () => {
      const kv = await kvStore();
      const base = k('scan');
      const keys = Array.from({ length: 2_500 }, (_, i) => `${base}:${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 500) await kv.setMany(new Map(keys.slice(i, i + 500).map((key) => [key, i])));
      await kv.setMany(new Map([[`${base}x`, 1]]));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await kv.scanPrefix(`${base}:`, cursor);
        seen.push(...page.keys);
        cursor = page.next;
      } while (cursor !== undefined);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.sort()).toEqual(keys);
    });

    it('lets exactly one of many concurrent writers win a compare-and-set', async () => {
      const kv = await kvStore();
      const a = k('race');
      await kv.setMany(new Map([[a, { firing: false }]]));
      const read = (await kv.getMany([a])).get(a);
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => kv.compareAndSet(a, read, { firing: true, by: i })));
      expect(wins.filter(Boolean)).toHaveLength(1);
      // Read-modify-write loops that retry on a lost race count every increment once.
      const c = k('counter');
      const bump = async (): Promise<void> => {
        for (;;) {
          const cur = (await kv.getMany<number>([c])).get(c);
          if (await kv.compareAndSet(c, cur, (cur ?? 0) + 1)) return;
        }
      };
      await Promise.all(Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 10; i++) await bump();
      }));
      expect((await kv.getMany([c])).get(c)).toBe(100);
    });
  });
}
