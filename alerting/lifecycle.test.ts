import { describe, expect, it } from 'vitest';
import type { Sla } from '../core/city.js';
import { TICKET_STATUSES, type Alert } from '../core/schemas.js';
import { TRANSITIONS, applyResolved, mergeFiring, mergeKeyOf, ticketFromAlert, transition } from './lifecycle.js';

const min = 60_000;
const sla: Sla = {
  grades: {
    A: { respondWithin: 15 * min, resolveWithin: 240 * min, remindBefore: 5 * min },
    B: { respondWithin: 30 * min, resolveWithin: 720 * min, remindBefore: 10 * min },
    C: { respondWithin: 120 * min, resolveWithin: 1440 * min, remindBefore: 30 * min },
    D: { respondWithin: 240 * min, resolveWithin: 4320 * min, remindBefore: 60 * min },
  },
};

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
    grade: 'B',
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

const open = (a = alert()) => ticketFromAlert(a, { id: 'SW-1', now: 1_000, route: { subcenterId: 'linhe', fallback: false }, sla, title: 't' });

describe('ticket lifecycle', () => {
  it('opens a dispatched ticket with deadlines from the grade', () => {
    const t = open();
    expect(t).toMatchObject({ id: 'SW-1', status: 'dispatched', grade: 'B', subcenterId: 'linhe', zoneId: 'tunnel-1', respondBy: 1_000 + 30 * min, resolveBy: 1_000 + 720 * min, version: 1 });
    expect(t.alerts).toHaveLength(1);
    expect(t.timeline.map((e) => e.action)).toEqual(['created', 'dispatched']);
  });

  it('merges by rule and zone, or by device outside zones', () => {
    expect(mergeKeyOf(alert())).toBe('underpass|zone:tunnel-1');
    expect(mergeKeyOf(alert({ zoneId: undefined }))).toBe('underpass|device:wl-1');
  });

  it('merges a new firing once; a redelivered alert changes nothing', () => {
    const t = open();
    expect(mergeFiring(t, alert(), 2_000)).toBeUndefined();
    const other = mergeFiring(t, alert({ id: 'underpass/wl-2@150:firing', fingerprint: 'underpass/wl-2', deviceId: 'wl-2' }), 2_000)!;
    expect(other.alerts.map((a) => a.deviceId)).toEqual(['wl-1', 'wl-2']);
    expect(other.version).toBe(2);
    const refire = mergeFiring(other, alert({ id: 'underpass/wl-1@900:firing', value: 0.7, ts: 900 }), 3_000)!;
    expect(refire.alerts).toHaveLength(2);
    expect(refire.alerts[0]).toMatchObject({ value: 0.7, lastSeen: 900, firstSeen: 100 });
  });

  it('records a resolved alert on the ticket once', () => {
    const t = open();
    const resolved = applyResolved(t, alert({ id: 'underpass/wl-1@100:resolved', status: 'resolved', value: 0.1, ts: 500 }), 2_000)!;
    expect(resolved.alerts[0]).toMatchObject({ status: 'resolved', value: 0.1 });
    expect(resolved.status).toBe('dispatched');
    expect(applyResolved(resolved, alert({ status: 'resolved' }), 2_100)).toBeUndefined();
  });

  it('allows exactly the transitions in the table', () => {
    for (const from of TICKET_STATUSES) {
      for (const to of TICKET_STATUSES) {
        const t = { ...open(), status: from };
        if (TRANSITIONS[from].includes(to)) {
          const next = transition(t, to, 'admin', 5_000, 'n');
          expect(next).toMatchObject({ status: to, version: 2, updatedAt: 5_000 });
          expect(next.timeline.at(-1)).toEqual({ at: 5_000, actor: 'admin', action: to, note: 'n' });
        } else {
          expect(() => transition(t, to, 'admin', 5_000)).toThrow(expect.objectContaining({ code: 'SW_ERR_TICKET_TRANSITION', status: 409 }));
        }
      }
    }
  });
});
