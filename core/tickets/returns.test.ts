import { describe, expect, it } from 'vitest';
import { sampleTicket } from '../../test/contract/state.contract.js';
import { SlaFile } from '../city.js';
import { isStreetWatchError } from '../errors.js';
import { decideExtension, pendingExtension, requestExtension } from './extensions.js';
import { transition } from './lifecycle.js';
import { pendingReturn, returnTicket, ruleOnReturn, type ReturnContext } from './returns.js';
import { fireTimer, timersFor } from './timers.js';

const min = 60_000;
const hour = 60 * min;
const T0 = 10_000_000;
const sla = SlaFile.parse({
  grades: Object.fromEntries(['A', 'B', 'C', 'D'].map((g) => [g, { respondWithin: '30m', resolveWithin: '12h', remindBefore: '10m' }])),
  governance: { returns: { maxPerTicket: 2 }, extensions: { maxPerTicket: 2, maxDelay: '2d' } },
});
const ctx: ReturnContext = { sla, districtId: 'district', policy: sla.governance.returns };
const held = () => sampleTicket({ id: 'SW-R', subcenterId: 'north', department: 'water-affairs', holders: ['north'], leads: ['water-affairs'], createdAt: T0, dispatchedAt: T0, respondBy: T0 + 30 * min, resolveBy: T0 + 12 * hour });

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (isStreetWatchError(err)) return err.code;
    throw err;
  }
  return undefined;
};

describe('returns (退单)', () => {
  it('sends a returned ticket to the district, which re-dispatches it elsewhere (upheld)', () => {
    const returned = returnTicket(held(), 'unit:north', '位置在南街道辖区', T0 + 5 * min, ctx);
    expect(returned).toMatchObject({ subcenterId: 'district', status: 'dispatched', dispatchedAt: T0 + 5 * min, respondBy: T0 + 35 * min, respondedAt: null, resolveBy: T0 + 12 * hour, holders: ['north', 'district'] });
    expect(pendingReturn(returned)).toMatchObject({ party: 'unit:north', subcenterId: 'north', department: 'water-affairs', reason: '位置在南街道辖区', ruling: null });
    expect(returned.timeline.at(-1)).toMatchObject({ actor: 'unit:north', action: 'returned', note: 'north → district: 位置在南街道辖区' });
    expect(code(() => returnTicket(returned, 'unit:district', 'x', T0, ctx))).toBe('SW_ERR_RETURN_REFUSED');

    const ruled = ruleOnReturn(returned, { decision: 'reassigned', subcenterId: 'south', note: '确属南街道' }, 'unit:district', T0 + 10 * min, ctx);
    expect(ruled).toMatchObject({ subcenterId: 'south', department: 'water-affairs', status: 'dispatched', respondBy: T0 + 40 * min, holders: ['north', 'district', 'south'], routedToFallback: false });
    expect(ruled.returns![0]!.ruling).toEqual({ at: T0 + 10 * min, by: 'unit:district', decision: 'reassigned', note: '确属南街道', subcenterId: 'south', department: 'water-affairs' });
    expect(code(() => ruleOnReturn(ruled, { decision: 'sent_back', note: 'x' }, 'unit:district', T0, ctx))).toBe('SW_ERR_RETURN_REFUSED');
  });

  it('sends it back with a ruling; the returner may not return it again (rejected)', () => {
    const returned = returnTicket(held(), 'department:water-affairs', '属于排水管网维护，不归水务', T0, ctx);
    expect(code(() => ruleOnReturn(returned, { decision: 'reassigned', note: 'same' }, 'admin', T0, ctx))).toBe('SW_ERR_RETURN_REFUSED');
    const back = ruleOnReturn(returned, { decision: 'sent_back', note: '排水管网属水务职责' }, 'admin', T0 + min, ctx);
    expect(back).toMatchObject({ subcenterId: 'north', department: 'water-affairs', status: 'dispatched' });
    expect(back.timeline.at(-1)).toMatchObject({ action: 'return_ruled', note: 'sent back to north, department water-affairs: 排水管网属水务职责' });
    expect(code(() => returnTicket(back, 'department:water-affairs', 'again', T0 + 2 * min, ctx))).toBe('SW_ERR_RETURN_LIMIT');
    // The holder unit is another party: it may still return it once.
    expect(returnTicket(back, 'unit:north', '不在本街道', T0 + 2 * min, ctx).subcenterId).toBe('district');
  });

  it('takes at most maxPerTicket returns, then the district\'s last ruling stands', () => {
    let t = returnTicket(held(), 'unit:north', 'a', T0, ctx);
    t = ruleOnReturn(t, { decision: 'reassigned', subcenterId: 'south', note: 'b' }, 'admin', T0, ctx);
    t = returnTicket(t, 'unit:south', 'c', T0, ctx);
    t = ruleOnReturn(t, { decision: 'reassigned', subcenterId: 'east', note: 'd' }, 'admin', T0, ctx);
    expect(code(() => returnTicket(t, 'unit:east', 'e', T0, ctx))).toBe('SW_ERR_RETURN_LIMIT');
    expect(code(() => returnTicket({ ...t, status: 'resolved' }, 'unit:east', 'e', T0, ctx))).toBe('SW_ERR_TICKET_TRANSITION');
  });
});

describe('deadline extensions (延期)', () => {
  const policy = sla.governance.extensions;
  const ask = (t = held(), to = T0 + 24 * hour, now = T0 + hour) => requestExtension(t, { to, reason: '需等待管线单位到场', approver: 'district' }, 'unit:north', now, policy);

  it('moves the deadline in force on approval, so the timers follow it', () => {
    const asked = ask();
    expect(pendingExtension(asked)).toMatchObject({ approver: 'district', subcenterId: 'north', from: T0 + 12 * hour, to: T0 + 24 * hour, decision: null });
    expect(asked.resolveBy).toBe(T0 + 12 * hour);
    const granted = decideExtension(asked, { approved: true, resolveBy: T0 + 20 * hour, note: '给 8 小时' }, 'unit:district', T0 + 2 * hour);
    expect(granted.resolveBy).toBe(T0 + 20 * hour);
    expect(granted.extensions![0]!.decision).toEqual({ at: T0 + 2 * hour, by: 'unit:district', approved: true, resolveBy: T0 + 20 * hour, note: '给 8 小时' });
    expect(timersFor(granted, sla).find((x) => x.kind === 'resolution_due')?.dueAt).toBe(T0 + 20 * hour);
    expect(granted.timeline.slice(-2).map((e) => e.action)).toEqual(['extension_requested', 'extension_approved']);
  });

  it('refuses what the rules forbid: a second waiting request, a later ask than allowed, an ask after the deadline, a grant beyond the ask', () => {
    const asked = ask();
    expect(code(() => ask(asked))).toBe('SW_ERR_EXTENSION_REFUSED');
    expect(code(() => ask(held(), T0 + 12 * hour + 3 * 24 * hour))).toBe('SW_ERR_EXTENSION_REFUSED');
    expect(code(() => ask(held(), T0 + 11 * hour))).toBe('SW_ERR_EXTENSION_REFUSED');
    expect(code(() => ask(held(), T0 + 24 * hour, T0 + 12 * hour))).toBe('SW_ERR_EXTENSION_REFUSED');
    expect(code(() => decideExtension(asked, { approved: true, resolveBy: T0 + 30 * hour }, 'admin', T0 + hour))).toBe('SW_ERR_EXTENSION_REFUSED');
    expect(code(() => decideExtension(asked, { approved: true }, 'admin', T0 + 12 * hour))).toBe('SW_ERR_EXTENSION_REFUSED');
    expect(code(() => decideExtension(held(), { approved: false }, 'admin', T0))).toBe('SW_ERR_EXTENSION_REFUSED');
    // Refused, then asked again, then the limit.
    const refused = decideExtension(asked, { approved: false, note: '请按时处置' }, 'admin', T0 + 2 * hour);
    expect(refused.resolveBy).toBe(T0 + 12 * hour);
    const second = decideExtension(ask(refused, T0 + 14 * hour, T0 + 3 * hour), { approved: true }, 'admin', T0 + 4 * hour);
    expect(second.resolveBy).toBe(T0 + 14 * hour);
    expect(code(() => ask(second, T0 + 16 * hour, T0 + 5 * hour))).toBe('SW_ERR_EXTENSION_REFUSED');
  });

  it('lapses a request still waiting when the deadline passes or the ticket is resolved', () => {
    const asked = ask();
    const overdue = fireTimer(asked, timersFor(asked, sla).find((x) => x.kind === 'resolution_due')!, T0 + 12 * hour, { sla, parentOf: () => 'district', districtId: 'district' })!;
    expect(overdue.ticket.extensions![0]!.decision).toMatchObject({ by: 'system', approved: false, note: 'lapsed: the deadline passed before a decision' });
    expect(overdue.ticket.timeline.slice(-3).map((e) => e.action)).toEqual(['extension_lapsed', 'overdue', 'escalated']);
    const resolved = transition(asked, 'resolved', 'unit:north', T0 + 2 * hour);
    expect(pendingExtension(resolved)).toBeUndefined();
    expect(resolved.extensions![0]!.decision).toMatchObject({ approved: false, by: 'system' });
  });

  it('settles a return before any request for more time: none while a return waits, and a waiting one lapses when the ticket is returned', () => {
    const returned = returnTicket(held(), 'unit:north', '不属本单位职责', T0 + hour, ctx);
    expect(code(() => ask(returned, T0 + 24 * hour, T0 + 2 * hour))).toBe('SW_ERR_EXTENSION_REFUSED');
    const asked = ask();
    const away = returnTicket(asked, 'unit:north', '不属本单位职责', T0 + 2 * hour, ctx);
    expect(away.extensions![0]!.decision).toMatchObject({ by: 'system', approved: false, note: 'lapsed: the ticket went to district before a decision' });
    expect(away.timeline.slice(-2).map((e) => e.action)).toEqual(['extension_lapsed', 'returned']);
    expect(away.resolveBy).toBe(T0 + 12 * hour);
  });
});
