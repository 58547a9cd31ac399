import { describe, expect, it } from 'vitest';
import { SlaFile } from '../city.js';
import type { Alert, Ticket } from '../schemas.js';
import { applyResolved, reassign, ticketFromAlert, transition } from './lifecycle.js';
import { fireTimer, holdStart, timersFor, type FireContext } from './timers.js';

const min = 60_000;
const sla = SlaFile.parse({
  grades: {
    A: { respondWithin: '15m', resolveWithin: '4h', remindBefore: '5m' },
    B: { respondWithin: '30m', resolveWithin: '12h', remindBefore: '10m', holdFor: '15m' },
    C: { respondWithin: '2h', resolveWithin: '24h', remindBefore: '3h' },
    D: { respondWithin: '4h', resolveWithin: '72h', remindBefore: '1h' },
  },
});
const ctx: FireContext = { sla, parentOf: (id) => (id === 'district' ? 'district' : 'district'), districtId: 'district' };
const T0 = 1_000_000;

const firing: Alert = {
  id: 'r/wl-1@1:firing',
  fingerprint: 'r/wl-1',
  status: 'firing',
  ruleId: 'r',
  deviceId: 'wl-1',
  metric: 'water_level',
  value: 0.5,
  grade: 'B',
  category: 'flooding',
  department: 'water-affairs',
  zoneId: 'z',
  ts: T0,
  startsAt: T0,
  summary: 's',
};
const resolvedAlert: Alert = { ...firing, id: 'r/wl-1@1:resolved', status: 'resolved', value: 0.1 };

const open = (grade: Alert['grade'] = 'B', subcenterId = 'linhe'): Ticket =>
  ticketFromAlert({ ...firing, grade }, { id: 'SW-1', now: T0, route: { subcenterId, fallback: false }, department: 'water-affairs', sla, zoneRisk: undefined, title: 't' });

const kinds = (t: Ticket) => timersFor(t, sla).map((x) => [x.kind, x.dueAt - T0]);
const fire = (t: Ticket, kind: string, now: number) => {
  const timer = timersFor(t, sla).find((x) => x.kind === kind);
  if (!timer) throw new Error(`no ${kind} timer`);
  return fireTimer(t, timer, now, ctx);
};

describe('ticket timers', () => {
  it('schedules reminders before and checks at each deadline of a new ticket', () => {
    expect(kinds(open())).toEqual([
      ['response_reminder', 20 * min],
      ['response_due', 30 * min],
      ['resolution_reminder', 710 * min],
      ['resolution_due', 720 * min],
    ]);
    // A lead time longer than the deadline leaves no time for a reminder.
    expect(kinds(open('C')).map(([k]) => k)).toEqual(['response_due', 'resolution_reminder', 'resolution_due']);
  });

  it('drops the response timers once the holder responds, and everything once it resolves', () => {
    const acked = transition(open(), 'acknowledged', 'unit:linhe', T0 + min);
    expect(kinds(acked).map(([k]) => k)).toEqual(['resolution_reminder', 'resolution_due']);
    expect(kinds(transition(acked, 'resolved', 'unit:linhe', T0 + 2 * min))).toEqual([]);
  });

  it('reminds once, before the deadline only', () => {
    const t = open();
    const reminded = fire(t, 'response_reminder', T0 + 20 * min)!;
    expect(reminded).toMatchObject({ type: 'ticket.reminder', recipients: ['linhe'] });
    expect(reminded.ticket.reminders).toEqual([{ kind: 'response', deadline: T0 + 30 * min, at: T0 + 20 * min, subcenterId: 'linhe' }]);
    expect(reminded.ticket.timeline.at(-1)).toMatchObject({ actor: 'system', action: 'reminder' });
    expect(kinds(reminded.ticket).map(([k]) => k)).toEqual(['response_due', 'resolution_reminder', 'resolution_due']);
    // Not yet due, or fired so late the deadline has passed: nothing to say.
    expect(fire(t, 'response_reminder', T0 + 19 * min)).toBeUndefined();
    expect(fire(t, 'response_reminder', T0 + 30 * min)).toBeUndefined();
  });

  it('flags a missed deadline red and escalates it to the parent with a supervision order', () => {
    const fired = fire(open(), 'response_due', T0 + 31 * min)!;
    expect(fired).toMatchObject({ type: 'ticket.overdue', recipients: ['linhe', 'district'] });
    expect(fired.supervisionOrder).toMatchObject({
      id: 'SW-1-S1',
      ticketId: 'SW-1',
      subcenterId: 'linhe',
      issuedTo: 'district',
      reason: 'response_overdue',
      deadline: T0 + 30 * min,
      status: 'issued',
    });
    expect(fired.ticket).toMatchObject({ red: true, supervisionOrderIds: ['SW-1-S1'], overdue: [{ kind: 'response', deadline: T0 + 30 * min, subcenterId: 'linhe' }] });
    expect(fired.ticket.timeline.slice(-2).map((e) => e.action)).toEqual(['overdue', 'escalated']);
    // Recorded: the same timer does nothing a second time.
    expect(fireTimer(fired.ticket, { id: 'SW-1/response_due', ticketId: 'SW-1', kind: 'response_due', dueAt: T0 + 30 * min }, T0 + 40 * min, ctx)).toBeUndefined();
    expect(kinds(fired.ticket).map(([k]) => k)).toEqual(['resolution_reminder', 'resolution_due']);
  });

  it('gives a reassigned ticket a new response deadline, and a second order if it is missed again', () => {
    const late = fire(open(), 'response_due', T0 + 31 * min)!.ticket;
    const moved = reassign(late, { subcenterId: 'shipai', reason: 'r' }, 'admin', T0 + 40 * min, { sla, fallbackId: 'district' });
    expect(kinds(moved).slice(0, 2)).toEqual([
      ['response_reminder', 60 * min],
      ['response_due', 70 * min],
    ]);
    const again = fire(moved, 'response_due', T0 + 70 * min)!;
    expect(again.supervisionOrder).toMatchObject({ id: 'SW-1-S2', subcenterId: 'shipai' });
    expect(again.ticket.overdue).toHaveLength(2);
  });

  it('does not escalate a resolution deadline the holder met', () => {
    const resolved = transition(open(), 'resolved', 'unit:linhe', T0 + 5 * min);
    expect(fireTimer(resolved, { id: 'SW-1/resolution_due', ticketId: 'SW-1', kind: 'resolution_due', dueAt: T0 + 720 * min }, T0 + 800 * min, ctx)).toBeUndefined();
  });

  it('closes on the sensor\'s confirmation after the hold period, counted from the later of resolution and recovery', () => {
    let t = transition(open(), 'resolved', 'unit:linhe', T0 + 5 * min);
    expect(holdStart(t)).toBeUndefined();
    t = applyResolved(t, resolvedAlert, T0 + 8 * min, { sla })!.ticket;
    expect(holdStart(t)).toBe(T0 + 8 * min);
    expect(kinds(t)).toEqual([['close_hold', 23 * min]]);
    expect(fire(t, 'close_hold', T0 + 22 * min)).toBeUndefined();
    const closed = fire(t, 'close_hold', T0 + 23 * min)!;
    expect(closed).toMatchObject({ type: 'ticket.closed', ticket: { status: 'closed', closedAt: T0 + 23 * min, closure: { by: 'sensor', actor: 'sensor:wl-1' } } });
    expect(kinds(closed.ticket)).toEqual([]);
  });
});
