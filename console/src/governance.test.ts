import { describe, expect, it } from 'vitest';
import type { CoHandler, Ticket } from '../../core/schemas.js';
import { sampleTicket } from '../../test/contract/state.contract.js';
import type { LocalUnit } from './api.js';
import { checkInState, coHandlerMoves, decidesExtension, holderTools, isAbove, myJointTickets, offeredActions, rulesOnReturn, standing } from './governance.js';

const LOCAL: LocalUnit[] = [
  { id: 'se', name: '南东社区', level: 'community', subcenter: 'south', community: null },
  { id: 'se-1', name: '南东第一网格', level: 'grid', subcenter: 'south', community: 'se' },
];
const co = (department: string, status: CoHandler['status'], over: Partial<CoHandler> = {}): CoHandler => ({
  department,
  source: 'plan',
  status,
  summonedAt: 0,
  summonedBy: 'system',
  checkInBy: 100,
  checkedInAt: status === 'summoned' ? null : 50,
  finishedAt: status === 'finished' ? 90 : null,
  releasedAt: status === 'released' ? 60 : null,
  remindedAt: null,
  missedAt: null,
  ...over,
});
const t = (over: Partial<Ticket> = {}): Ticket => sampleTicket({ subcenterId: 'se-1', department: 'water-affairs', resolveBy: 10_000, ...over });

describe('the console\'s view of the governance loop', () => {
  it('knows how a token stands to a ticket', () => {
    const ticket = t({ coHandlers: [co('traffic-police', 'summoned'), co('city-management', 'released')] });
    expect(standing(ticket, { role: 'admin' }, LOCAL)).toBe('admin');
    expect(standing(ticket, { role: 'unit', unitId: 'se-1', level: 'grid' }, LOCAL)).toBe('holder');
    expect(standing(ticket, { role: 'unit', unitId: 'south', level: 'subcenter' }, LOCAL)).toBe('above');
    expect(standing(ticket, { role: 'unit', unitId: 'north', level: 'subcenter' }, LOCAL)).toBe('other');
    expect(standing(ticket, { role: 'department', department: 'water-affairs' }, LOCAL)).toBe('lead');
    expect(standing(ticket, { role: 'department', department: 'traffic-police' }, LOCAL)).toBe('co-handler');
    expect(standing(ticket, { role: 'department', department: 'city-management' }, LOCAL)).toBe('other');
    expect(isAbove(LOCAL, 'se', 'se-1')).toBe(true);
    expect(isAbove(LOCAL, 'north', 'se-1')).toBe(false);
  });

  it('offers a reported ticket\'s closing to the admin and to the district once the reporter\'s time ran out, never to its holder', () => {
    const reported = t({ origin: 'report', status: 'resolved', resolvedAt: 5 });
    expect(offeredActions(reported, 'holder', ['close', 'feedback'], false)).toEqual(['feedback']);
    expect(offeredActions(reported, 'admin', ['close', 'feedback'], false)).toEqual(['close', 'feedback']);
    expect(offeredActions({ ...reported, confirmationTimedOut: { resolvedAt: 5, at: 9 } }, 'other', ['close'], true)).toEqual(['close']);
    expect(offeredActions(t({ status: 'resolved' }), 'lead', ['close', 'reassign'], false)).toEqual(['close']);
    expect(offeredActions(t(), 'co-handler', ['ack', 'resolve'], false)).toEqual([]);
  });

  it('offers each co-handler its next move, and tells where its check-in stands', () => {
    expect(coHandlerMoves(co('x', 'summoned'))).toEqual(['check-in']);
    expect(coHandlerMoves(co('x', 'checked_in'))).toEqual(['feedback', 'finish']);
    expect(coHandlerMoves(co('x', 'finished'))).toEqual([]);
    expect(checkInState(co('x', 'summoned'), 120)).toEqual({ kind: 'missed', by: 20 });
    expect(checkInState(co('x', 'checked_in'), 120)).toEqual({ kind: 'met', at: 50 });
  });

  it('offers returns to the holder\'s side but the admin, extensions before the deadline, rulings and decisions to whom they wait for', () => {
    expect(holderTools(t(), 'holder', 'd', 0)).toEqual({ summon: true, release: false, returnIt: true, extend: true });
    expect(holderTools(t(), 'admin', 'd', 0).returnIt).toBe(false);
    expect(holderTools(t({ subcenterId: 'd' }), 'holder', 'd', 0).returnIt).toBe(false);
    expect(holderTools(t(), 'holder', 'd', 20_000).extend).toBe(false);
    expect(holderTools(t({ coHandlers: [co('x', 'checked_in')] }), 'lead', 'd', 0).release).toBe(true);
    const returned = t({ subcenterId: 'd', returns: [{ at: 1, party: 'unit:se-1', subcenterId: 'se-1', department: 'water-affairs', reason: 'r', ruling: null }] });
    expect(rulesOnReturn(returned, { role: 'unit', unitId: 'd', level: 'district' }, 'd')).toBe(true);
    expect(rulesOnReturn(returned, { role: 'unit', unitId: 'south', level: 'subcenter' }, 'd')).toBe(false);
    const asked = t({ extensions: [{ at: 1, by: 'unit:se-1', approver: 'south', subcenterId: 'se-1', from: 10_000, to: 20_000, reason: 'r', decision: null }] });
    expect(decidesExtension(asked, { role: 'unit', unitId: 'south', level: 'subcenter' })).toBe(true);
    expect(decidesExtension(asked, { role: 'unit', unitId: 'se-1', level: 'grid' })).toBe(false);
  });

  it('lists a department\'s joint tickets, the ones waiting for its check-in first', () => {
    const a = t({ id: 'a', coHandlers: [co('tp', 'checked_in', { checkInBy: 10 })] });
    const b = t({ id: 'b', coHandlers: [co('tp', 'summoned', { checkInBy: 50 })] });
    const c = t({ id: 'c', coHandlers: [co('tp', 'released')] });
    expect(myJointTickets([a, b, c], 'tp').map((x) => x.ticket.id)).toEqual(['b', 'a']);
  });
});
