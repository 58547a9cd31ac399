import { describe, expect, it } from 'vitest';
import { SlaFile } from '../city.js';
import { TICKET_STATUSES, type Alert, type TicketStatus } from '../schemas.js';
import { TRANSITIONS, addFeedback, applyResolved, mergeFiring, mergeKeyOf, reassign, ticketFromAlert, transition } from './lifecycle.js';

const min = 60_000;
const sla = SlaFile.parse({
  grades: {
    A: { respondWithin: '15m', resolveWithin: '4h', remindBefore: '5m' },
    B: { respondWithin: '30m', resolveWithin: '12h', remindBefore: '10m' },
    C: { respondWithin: '2h', resolveWithin: '24h', remindBefore: '30m' },
    D: { respondWithin: '4h', resolveWithin: '72h', remindBefore: '1h' },
  },
  grading: { zoneRisk: { high: 1 }, aggregation: [{ minDevices: 3, raise: 1 }] },
});

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: 'underpass/wl-1@100:firing',
    fingerprint: 'underpass/wl-1',
    status: 'firing',
    ruleId: 'underpass',
    deviceId: 'wl-1',
    metric: 'water_level',
    value: 0.5,
    threshold: 0.3,
    grade: 'C',
    category: 'flooding',
    department: 'water-affairs',
    zoneId: 'tunnel-1',
    loc: { lat: 23.1, lon: 113.3 },
    ts: 100,
    startsAt: 100,
    summary: 'water_level 0.5m > 0.3m',
    ...over,
  };
}

const ctx = { sla, zoneRisk: undefined };
const open = (a = alert(), zoneRisk: 'high' | undefined = undefined) =>
  ticketFromAlert(a, { id: 'SW-1', now: 1_000, route: { subcenterId: 'linhe', fallback: false }, department: 'water-affairs', sla, zoneRisk, title: 't' });
const firing = (n: number, over: Partial<Alert> = {}) => alert({ id: `underpass/wl-${n}@${n}:firing`, fingerprint: `underpass/wl-${n}`, deviceId: `wl-${n}`, ts: 100 + n, ...over });

describe('ticket lifecycle', () => {
  it('opens a dispatched ticket with deadlines from the grade', () => {
    const t = open();
    expect(t).toMatchObject({
      id: 'SW-1',
      status: 'dispatched',
      grade: 'C',
      baseGrade: 'C',
      subcenterId: 'linhe',
      department: 'water-affairs',
      zoneId: 'tunnel-1',
      respondBy: 1_000 + 120 * min,
      resolveBy: 1_000 + 1440 * min,
      respondedAt: null,
      alertCount: 1,
      devices: ['wl-1'],
      firstSeen: 100,
      lastSeen: 100,
      red: false,
      version: 1,
    });
    expect(t.timeline.map((e) => e.action)).toEqual(['created', 'dispatched']);
  });

  it('raises the grade in a high-risk zone and says why', () => {
    const t = open(alert(), 'high');
    expect(t).toMatchObject({ grade: 'B', baseGrade: 'C', gradeReasons: ['zone risk high: +1'], respondBy: 1_000 + 30 * min });
    expect(t.timeline.map((e) => e.action)).toEqual(['created', 'graded', 'dispatched']);
  });

  it('merges by zone and category whatever the rule or device, and by device outside zones', () => {
    expect(mergeKeyOf(alert())).toBe('flooding|zone:tunnel-1');
    expect(mergeKeyOf(alert({ ruleId: 'camera-flood', deviceId: 'cam-1' }))).toBe('flooding|zone:tunnel-1');
    expect(mergeKeyOf(alert({ zoneId: undefined }))).toBe('flooding|device:wl-1');
  });

  it('merges a new firing once; a redelivered alert changes nothing', () => {
    const t = open();
    expect(mergeFiring(t, alert(), 2_000, ctx)).toBeUndefined();
    const other = mergeFiring(t, firing(2, { startsAt: 50 }), 2_000, ctx)!.ticket;
    expect(other).toMatchObject({ alertCount: 2, devices: ['wl-1', 'wl-2'], firstSeen: 50, lastSeen: 102, version: 2 });
    const refire = mergeFiring(other, alert({ id: 'underpass/wl-1@900:firing', value: 0.7, ts: 900, startsAt: 900 }), 3_000, ctx)!.ticket;
    expect(refire.alerts).toHaveLength(2);
    expect(refire.alerts[0]).toMatchObject({ value: 0.7, lastSeen: 900, firstSeen: 100 });
    // A repeat firing of a fingerprint the ticket holds counts once toward the storm's size.
    expect(refire).toMatchObject({ alertCount: 2, firings: 3, devices: ['wl-1', 'wl-2'] });
  });

  it('regrades a growing storm upward and tightens the deadlines', () => {
    let t = open();
    t = mergeFiring(t, firing(2), 2_000, ctx)!.ticket;
    expect(t.grade).toBe('C');
    t = mergeFiring(t, firing(3), 3_000, ctx)!.ticket;
    expect(t).toMatchObject({ grade: 'B', gradeReasons: ['3 devices >= 3: +1'], respondBy: 1_000 + 30 * min, resolveBy: 1_000 + 720 * min });
    expect(t.timeline.at(-1)).toMatchObject({ action: 'graded', note: 'C → B: 3 devices >= 3: +1' });
    // A merged alert of a higher rule grade raises the base.
    const a = mergeFiring(open(), firing(4, { grade: 'A', ruleId: 'gas' }), 2_000, ctx)!.ticket;
    expect(a).toMatchObject({ grade: 'A', baseGrade: 'A', respondBy: 1_000 + 15 * min });
  });

  it('records a resolved alert on the ticket once', () => {
    const t = open();
    const resolved = applyResolved(t, alert({ id: 'underpass/wl-1@100:resolved', status: 'resolved', value: 0.1, ts: 500 }), 2_000, ctx)!.ticket;
    expect(resolved.alerts[0]).toMatchObject({ status: 'resolved', value: 0.1, resolvedAt: 2_000 });
    expect(resolved.status).toBe('dispatched');
    expect(applyResolved(resolved, alert({ status: 'resolved' }), 2_100, ctx)).toBeUndefined();
  });

  it('reopens a resolved ticket when its sensor fires again', () => {
    let t = transition(open(), 'resolved', 'unit:linhe', 2_000);
    t = applyResolved(t, alert({ id: 'underpass/wl-1@100:resolved', status: 'resolved', ts: 500 }), 2_100, ctx)!.ticket;
    const again = mergeFiring(t, alert({ id: 'underpass/wl-1@700:firing', ts: 700, startsAt: 700 }), 2_500, ctx)!.ticket;
    expect(again.status).toBe('reopened');
    expect(again.alerts[0]).not.toHaveProperty('resolvedAt');
    expect(again.timeline.slice(-2).map((e) => [e.actor, e.action])).toEqual([
      ['sensor:wl-1', 'alert'],
      ['sensor:wl-1', 'reopened'],
    ]);
  });

  it('allows exactly the transitions in the table', () => {
    const table: Record<TicketStatus, TicketStatus[]> = {
      dispatched: ['acknowledged', 'in_progress', 'resolved'],
      acknowledged: ['in_progress', 'resolved'],
      in_progress: ['resolved'],
      resolved: ['closed', 'reopened'],
      reopened: ['acknowledged', 'in_progress', 'resolved'],
      closed: [],
    };
    expect(TRANSITIONS).toEqual(table);
    for (const from of TICKET_STATUSES) {
      for (const to of TICKET_STATUSES) {
        const t = { ...open(), status: from };
        if (table[from].includes(to)) {
          const next = transition(t, to, 'admin', 5_000, 'n');
          expect(next).toMatchObject({ status: to, version: 2, updatedAt: 5_000 });
          expect(next.timeline.at(-1)).toEqual({ at: 5_000, actor: 'admin', action: to, note: 'n' });
        } else {
          expect(() => transition(t, to, 'admin', 5_000)).toThrow(expect.objectContaining({ code: 'SW_ERR_TICKET_TRANSITION', status: 409 }));
        }
      }
    }
  });

  it('records the first response, the resolution and an operator closing', () => {
    const acked = transition(open(), 'acknowledged', 'unit:linhe', 2_000);
    const started = transition(acked, 'in_progress', 'unit:linhe', 3_000);
    expect(started.respondedAt).toBe(2_000);
    const resolved = transition(started, 'resolved', 'unit:linhe', 4_000);
    expect(resolved.resolvedAt).toBe(4_000);
    const closed = transition(resolved, 'closed', 'admin', 5_000, '现场核实');
    expect(closed).toMatchObject({ closedAt: 5_000, closure: { by: 'operator', actor: 'admin', at: 5_000 } });
    expect(transition(open(), 'resolved', 'unit:linhe', 2_500).respondedAt).toBe(2_500);
  });

  it('adds feedback without a status change, never to a closed ticket', () => {
    const t = addFeedback(open(), 'unit:linhe', 2_000, '网格员已到场');
    expect(t).toMatchObject({ status: 'dispatched', version: 2 });
    expect(t.timeline.at(-1)).toEqual({ at: 2_000, actor: 'unit:linhe', action: 'feedback', note: '网格员已到场' });
    expect(() => addFeedback({ ...t, status: 'closed' }, 'admin', 3_000, 'x')).toThrow(expect.objectContaining({ code: 'SW_ERR_TICKET_TRANSITION' }));
  });

  it('reassigns with a reason: a new holder gets a fresh response window, the resolution deadline stays', () => {
    const acked = transition(open(), 'acknowledged', 'unit:linhe', 2_000);
    const moved = reassign(acked, { subcenterId: 'shipai', reason: '位于石牌辖区' }, 'unit:linhe', 10_000, { sla, fallbackId: 'district' });
    expect(moved).toMatchObject({ subcenterId: 'shipai', status: 'dispatched', dispatchedAt: 10_000, respondedAt: null, respondBy: 10_000 + 120 * min, resolveBy: acked.resolveBy });
    expect(moved.timeline.at(-1)).toEqual({ at: 10_000, actor: 'unit:linhe', action: 'reassigned', note: 'linhe → shipai: 位于石牌辖区' });
    const dept = reassign(acked, { department: 'city-management', reason: 'r' }, 'admin', 11_000, { sla, fallbackId: 'district' });
    expect(dept).toMatchObject({ subcenterId: 'linhe', status: 'acknowledged', department: 'city-management' });
    expect(reassign(acked, { subcenterId: 'district', reason: 'r' }, 'admin', 11_000, { sla, fallbackId: 'district' }).routedToFallback).toBe(true);
    expect(() => reassign(acked, { subcenterId: 'linhe', reason: 'r' }, 'admin', 11_000, { sla, fallbackId: 'district' })).toThrow(expect.objectContaining({ code: 'SW_ERR_BODY_INVALID' }));
    for (const status of ['resolved', 'closed'] as const) {
      expect(() => reassign({ ...acked, status }, { subcenterId: 'shipai', reason: 'r' }, 'admin', 11_000, { sla, fallbackId: 'district' })).toThrow(
        expect.objectContaining({ code: 'SW_ERR_TICKET_TRANSITION' }),
      );
    }
  });

  describe('repeats, flapping and replays', () => {
    const storm = { ...sla, grading: { ...sla.grading, aggregation: [{ minAlerts: 10, raise: 1 }] } };
    const sctx = { sla: storm, zoneRisk: undefined };
    /** One device firing and clearing: episode k starts at 100 + 20k (event time), clears 10 later. */
    const fire = (k: number) => alert({ id: `underpass/wl-1@${100 + 20 * k}:firing`, ts: 100 + 20 * k, startsAt: 100 + 20 * k });
    const clear = (k: number) => alert({ id: `underpass/wl-1@${100 + 20 * k}:resolved`, status: 'resolved', value: 0.1, ts: 110 + 20 * k, startsAt: 100 + 20 * k });
    const openWith = (c: typeof sctx) => ticketFromAlert(fire(0), { id: 'SW-1', now: 1_000, route: { subcenterId: 'linhe', fallback: false }, department: 'd', title: 't', ...c });

    it('counts ten repeat firings of one device once toward grading', () => {
      let t = openWith(sctx);
      for (let k = 0; k < 10; k++) {
        if (k > 0) t = mergeFiring(t, fire(k), 2_000 + k, sctx)!.ticket;
        t = applyResolved(t, clear(k), 2_000 + k, sctx)!.ticket;
      }
      expect(t).toMatchObject({ grade: 'C', alertCount: 1, firings: 10, devices: ['wl-1'] });
      expect(t.alerts).toHaveLength(1);
      // Ten distinct alerts do meet the row.
      let u = openWith(sctx);
      for (let n = 2; n <= 10; n++) u = mergeFiring(u, firing(n), 2_000, sctx)!.ticket;
      expect(u).toMatchObject({ grade: 'B', alertCount: 10 });
    });

    it('flags a flapping alert once, counts its further changes quietly, and clears it with hysteresis', () => {
      let t = openWith(sctx);
      const changes: { quiet: boolean; flapping?: string }[] = [];
      for (let k = 0; k < 20; k++) {
        if (k > 0) {
          const c = mergeFiring(t, fire(k), 2_000 + k, sctx)!;
          changes.push(c);
          t = c.ticket;
        }
        const c = applyResolved(t, clear(k), 2_000 + k, sctx)!;
        changes.push(c);
        t = c.ticket;
      }
      // The 6th state change within 10 minutes (the first firing counts as one) starts it.
      expect(changes.findIndex((c) => c.flapping === 'started')).toBe(4);
      expect(changes.slice(0, 5).every((c) => !c.quiet)).toBe(true);
      expect(changes.slice(5).every((c) => c.quiet)).toBe(true);
      expect(t).toMatchObject({ flapping: true, alerts: [{ flapping: true, firings: 20 }] });
      expect(t.timeline.filter((e) => e.action === 'flapping')).toHaveLength(1);
      expect(t.timeline.length).toBeLessThan(8);
      // Quiet for longer than the window: the next change stops it, loudly.
      const later = 100 + 20 * 20 + 11 * 60_000;
      const back = mergeFiring(t, alert({ id: `underpass/wl-1@${later}:firing`, ts: later, startsAt: later }), 900_000, sctx)!;
      expect(back).toMatchObject({ quiet: false, flapping: 'stopped', ticket: { flapping: false } });
      expect(back.ticket.timeline.at(-1)).toMatchObject({ action: 'flapping_stopped', actor: 'sensor:wl-1' });
    });

    it('recognises a replay of any prefix of a fingerprint\'s history, and a redelivery of the latest', () => {
      let t = openWith(sctx);
      const history = [fire(0), clear(0), fire(1), clear(1), fire(2)];
      for (const a of history.slice(1)) t = (a.status === 'firing' ? mergeFiring(t, a, 3_000, sctx) : applyResolved(t, a, 3_000, sctx))!.ticket;
      for (const a of history) {
        expect(a.status === 'firing' ? mergeFiring(t, a, 4_000, sctx) : applyResolved(t, a, 4_000, sctx)).toBeUndefined();
      }
      expect(t.appliedAlertIds).toEqual(history.map((a) => a.id));
    });

    it('keeps its alert list bounded: a resolved entry rolls out for a new one, counted', () => {
      let t = openWith(sctx);
      t = applyResolved(t, clear(0), 1_500, sctx)!.ticket;
      for (let n = 2; n <= 45; n++) t = mergeFiring(t, firing(n), 2_000, sctx)!.ticket;
      expect(t.alerts).toHaveLength(40);
      expect(t.alerts.some((a) => a.deviceId === 'wl-1')).toBe(false);
      expect(t).toMatchObject({ alertCount: 45, alertsRolledUp: 5 });
      expect(t.devices).toHaveLength(45);
    });
  });
});

