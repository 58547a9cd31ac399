import { describe, expect, it } from 'vitest';
import type { SupervisionOrder, Ticket } from '../../core/schemas.js';
import { activeAlarms, freshAlarms, type AlarmViewer } from './alarms.js';
import { T0, moved, ticket } from './test-tickets.js';

const MIN = 60_000;
const holder: AlarmViewer = { unitId: 'north', supervision: true };
const kinds = (tickets: Ticket[], orders: SupervisionOrder[] = [], viewer: AlarmViewer = holder) => activeAlarms(tickets, orders, viewer).map((a) => `${a.kind} ${a.ticketId}`);

function overdue(t: Ticket, at: number, kind: 'response' | 'resolution' = 'response'): Ticket {
  return {
    ...t,
    red: true,
    overdue: [...t.overdue, { kind, deadline: at, at, subcenterId: t.subcenterId }],
    timeline: [...t.timeline, { at, actor: 'system', action: 'overdue' }, { at, actor: 'system', action: 'escalated' }],
    version: t.version + 1,
  };
}

function order(over: Partial<SupervisionOrder> = {}): SupervisionOrder {
  return { id: 'SO-1', ticketId: 'SW-1', subcenterId: 'north', issuedTo: 'district', reason: 'response_overdue', deadline: T0, status: 'issued', createdAt: T0 + 31 * MIN, updatedAt: T0 + 31 * MIN, timeline: [], ...over };
}

describe('alarms', () => {
  it('rings for a new A or B ticket until its holder acknowledges it, not for C and D', () => {
    const b = ticket({ id: 'SW-B', grade: 'B' });
    expect(kinds([b, ticket({ id: 'SW-A', grade: 'A' }), ticket({ id: 'SW-C', grade: 'C' }), ticket({ id: 'SW-D', grade: 'D' })])).toEqual(['new SW-A', 'new SW-B']);
    expect(kinds([moved(b, 'acknowledged', T0 + MIN)])).toEqual([]);
    expect(kinds([moved(b, 'in_progress', T0 + MIN)])).toEqual([]);
  });

  it('rings only for the unit that must act; the admin and the district wall see them all', () => {
    const south = ticket({ id: 'SW-S', grade: 'A', subcenterId: 'south' });
    expect(kinds([south])).toEqual([]);
    expect(kinds([south], [], { unitId: undefined, supervision: false })).toEqual(['new SW-S']);
  });

  it('rings again for the new holder after a reassignment', () => {
    const t = ticket({ grade: 'B' });
    const first = activeAlarms([t], [], holder)[0]!;
    const reassigned = { ...moved(t, 'acknowledged', T0 + MIN), status: 'dispatched' as const, dispatchedAt: T0 + 2 * MIN, version: 3 };
    expect(activeAlarms([reassigned], [], holder)[0]!.key).not.toBe(first.key);
  });

  it('rings for an overdue ticket of any grade until a person acts on it after the miss', () => {
    const late = overdue(ticket({ grade: 'D' }), T0 + 4 * 60 * MIN);
    expect(kinds([late])).toEqual(['overdue SW-1']);
    expect(kinds([moved(late, 'acknowledged', T0 + 5 * 60 * MIN)])).toEqual([]);
    // Missed the resolution while in progress: a feedback answers it.
    const working = overdue(moved(ticket({ grade: 'C' }), 'in_progress', T0 + MIN), T0 + 24 * 60 * MIN, 'resolution');
    expect(kinds([working])).toEqual(['overdue SW-1']);
    const answered = { ...working, timeline: [...working.timeline, { at: T0 + 25 * 60 * MIN, actor: 'unit:north', action: 'feedback', note: '抢修中' }] };
    expect(kinds([answered])).toEqual([]);
    // A later miss rings again.
    expect(kinds([overdue(answered, T0 + 30 * 60 * MIN)])).toEqual(['overdue SW-1']);
  });

  it('keeps ringing "new" for an overdue A ticket answered with a note but still not acknowledged', () => {
    const late = overdue(ticket({ grade: 'A' }), T0 + 16 * MIN);
    const noted = { ...late, timeline: [...late.timeline, { at: T0 + 17 * MIN, actor: 'unit:north', action: 'feedback' }] };
    expect(kinds([late])).toEqual(['overdue SW-1']);
    expect(kinds([noted])).toEqual(['new SW-1']);
  });

  it('rings for a supervision order issued to the center until the center acknowledges it', () => {
    const district = { unitId: 'district', supervision: true };
    expect(activeAlarms([], [order()], district)).toMatchObject([{ kind: 'supervision', ticketId: 'SW-1', title: 'SW-1', orderId: 'SO-1' }]);
    expect(kinds([], [order({ status: 'acknowledged' })], district)).toEqual([]);
    expect(kinds([], [order()], holder)).toEqual([]);
    expect(kinds([], [order()], { unitId: undefined, supervision: false })).toEqual([]);
  });

  it('never rings for a closed ticket, and puts the most urgent first', () => {
    expect(kinds([moved(overdue(ticket({ grade: 'A' }), T0 + 16 * MIN), 'closed', T0 + 20 * MIN)])).toEqual([]);
    const admin = { unitId: undefined, supervision: true };
    const all = kinds([ticket({ id: 'SW-B', grade: 'B' }), ticket({ id: 'SW-A', grade: 'A', dispatchedAt: T0 + MIN }), overdue(ticket({ id: 'SW-1', grade: 'C' }), T0 + 3 * 60 * MIN)], [order()], admin);
    expect(all).toEqual(['supervision SW-1', 'overdue SW-1', 'new SW-A', 'new SW-B']);
  });

  it('announces each alarm once', () => {
    const now = activeAlarms([ticket({ id: 'SW-A', grade: 'A' }), ticket({ id: 'SW-B', grade: 'B' })], [], holder);
    expect(freshAlarms(new Set(), now).map((a) => a.ticketId)).toEqual(['SW-A', 'SW-B']);
    expect(freshAlarms(new Set([now[0]!.key]), now).map((a) => a.ticketId)).toEqual(['SW-B']);
  });
});
