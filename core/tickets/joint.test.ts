import { describe, expect, it } from 'vitest';
import { sampleTicket } from '../../test/contract/state.contract.js';
import { governanceCity } from '../../test/support/governance.js';
import { loadCity } from '../city.js';
import { isStreetWatchError } from '../errors.js';
import { transition } from './lifecycle.js';
import { applyPlan, coHandlerFeedback, involvedDepartments, moveCoHandler, pendingCoHandlers, summonByHand, tickChecklist } from './joint.js';

const min = 60_000;
const T0 = 10_000_000;
const city = loadCity(governanceCity());
const plan = city.responsePlans.get('flooding')!;
const flood = (grade: 'A' | 'B' | 'C' = 'A') => sampleTicket({ id: 'SW-J', grade, category: 'flooding', department: 'water-affairs', subcenterId: 'north', leads: ['water-affairs'] });

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (isStreetWatchError(err)) return err.code;
    throw err;
  }
  return undefined;
};

describe('response plans (预案)', () => {
  it('summons the grade A co-handlers with their check-in deadlines, hands the lead over, attaches the checklist', () => {
    const { ticket, summoned } = applyPlan(flood(), plan, T0);
    expect(summoned).toEqual(['water-affairs', 'traffic-police', 'city-management']);
    expect(ticket.department).toBe('emergency-management');
    expect(ticket.leads).toEqual(['water-affairs', 'emergency-management']);
    expect(ticket.plan).toEqual({ category: 'flooding', grade: 'A' });
    expect(ticket.coHandlers!.map((c) => [c.department, c.status, c.checkInBy - T0, c.source])).toEqual([
      ['water-affairs', 'summoned', 30 * min, 'plan'],
      ['traffic-police', 'summoned', 30 * min, 'plan'],
      ['city-management', 'summoned', 45 * min, 'plan'],
    ]);
    expect(ticket.checklist!.map((s) => [s.id, s.doneAt])).toEqual([
      ['close-road', null],
      ['pump', null],
    ]);
    expect(ticket.timeline.slice(-2).map((e) => e.action)).toEqual(['reassigned', 'summoned']);
    expect(involvedDepartments(ticket).sort()).toEqual(['city-management', 'emergency-management', 'traffic-police', 'water-affairs']);
  });

  it('does nothing for a grade without a row, for a resolved ticket, or a second time', () => {
    expect(applyPlan(flood('B'), plan, T0).summoned).toEqual([]);
    expect(applyPlan(flood('C'), plan, T0).ticket.coHandlers).toBeUndefined();
    expect(applyPlan({ ...flood(), status: 'resolved' }, plan, T0).summoned).toEqual([]);
    const once = applyPlan(flood(), plan, T0).ticket;
    const twice = applyPlan(once, plan, T0 + min);
    expect(twice.summoned).toEqual([]);
    expect(twice.ticket).toBe(once);
  });

  it('leaves a department released earlier released', () => {
    const released = { ...flood(), coHandlers: [{ ...applyPlan(flood(), plan, T0).ticket.coHandlers![1]!, status: 'released' as const, releasedAt: T0 }] };
    expect(applyPlan(released, plan, T0 + min).summoned).toEqual(['water-affairs', 'city-management']);
  });
});

describe('co-handlers (报到)', () => {
  const summoned = () => applyPlan(flood(), plan, T0).ticket;

  it('check in, give feedback and finish under their own names; the lead resolves only when all have finished', () => {
    let t = summoned();
    expect(pendingCoHandlers(t)).toHaveLength(3);
    expect(code(() => transition(t, 'resolved', 'unit:north', T0 + min))).toBe('SW_ERR_JOINT_PENDING');
    for (const d of ['water-affairs', 'traffic-police', 'city-management']) {
      t = moveCoHandler(t, d, 'checked_in', `department:${d}`, T0 + 10 * min);
      t = coHandlerFeedback(t, d, `department:${d}`, T0 + 20 * min, '已到场');
    }
    expect(code(() => coHandlerFeedback(t, 'nobody', 'department:nobody', T0, 'x'))).toBe('SW_ERR_NOT_FOUND');
    t = moveCoHandler(t, 'water-affairs', 'finished', 'department:water-affairs', T0 + 60 * min, '已抽排');
    t = moveCoHandler(t, 'traffic-police', 'finished', 'department:traffic-police', T0 + 61 * min);
    expect(code(() => transition(t, 'resolved', 'unit:north', T0 + 62 * min))).toBe('SW_ERR_JOINT_PENDING');
    t = moveCoHandler(t, 'city-management', 'released', 'unit:north', T0 + 62 * min, '无需清障');
    const resolved = transition(t, 'resolved', 'unit:north', T0 + 63 * min);
    expect(resolved.status).toBe('resolved');
    expect(t.coHandlers!.map((c) => [c.department, c.status, c.checkedInAt, c.finishedAt])).toEqual([
      ['water-affairs', 'finished', T0 + 10 * min, T0 + 60 * min],
      ['traffic-police', 'finished', T0 + 10 * min, T0 + 61 * min],
      ['city-management', 'released', T0 + 10 * min, null],
    ]);
    expect(t.timeline.filter((e) => e.actor === 'department:water-affairs').map((e) => e.action)).toEqual(['checked_in', 'feedback', 'co_finished']);
    // A released department no longer sees the ticket.
    expect(involvedDepartments(t)).not.toContain('city-management');
  });

  it('refuses moves out of order: finishing before checking in, checking in twice, feedback before checking in', () => {
    const t = summoned();
    expect(code(() => moveCoHandler(t, 'water-affairs', 'finished', 'department:water-affairs', T0))).toBe('SW_ERR_JOINT_TRANSITION');
    expect(code(() => coHandlerFeedback(t, 'water-affairs', 'department:water-affairs', T0, 'x'))).toBe('SW_ERR_JOINT_TRANSITION');
    const inn = moveCoHandler(t, 'water-affairs', 'checked_in', 'department:water-affairs', T0);
    expect(code(() => moveCoHandler(inn, 'water-affairs', 'checked_in', 'department:water-affairs', T0))).toBe('SW_ERR_JOINT_TRANSITION');
    expect(code(() => moveCoHandler({ ...inn, status: 'closed' }, 'traffic-police', 'checked_in', 'department:traffic-police', T0))).toBe('SW_ERR_TICKET_TRANSITION');
  });

  it('lets the holder blow the whistle for a department the plan does not name, and again after a release', () => {
    let t = summonByHand(flood('B'), 'fire-rescue', 'unit:north', T0, 20 * min, '有车辆被困');
    expect(t.coHandlers).toMatchObject([{ department: 'fire-rescue', source: 'whistle', summonedBy: 'unit:north', checkInBy: T0 + 20 * min }]);
    expect(t.timeline.at(-1)).toMatchObject({ action: 'summoned', actor: 'unit:north' });
    expect(code(() => summonByHand(t, 'fire-rescue', 'unit:north', T0, min, 'x'))).toBe('SW_ERR_JOINT_TRANSITION');
    expect(code(() => summonByHand(t, 'water-affairs', 'unit:north', T0, min, 'the lead'))).toBe('SW_ERR_JOINT_TRANSITION');
    t = moveCoHandler(t, 'fire-rescue', 'released', 'unit:north', T0 + min, '已自行脱困');
    t = summonByHand(t, 'fire-rescue', 'unit:north', T0 + 2 * min, 20 * min, '再次被困');
    expect(t.coHandlers).toHaveLength(1);
    expect(t.coHandlers![0]).toMatchObject({ status: 'summoned', summonedAt: T0 + 2 * min });
  });

  it('records the checklist step by step, once each', () => {
    let t = summoned();
    t = tickChecklist(t, 'close-road', 'department:traffic-police', T0 + 5 * min);
    expect(t.checklist![0]).toEqual({ id: 'close-road', text: '封闭积水路段', doneAt: T0 + 5 * min, doneBy: 'department:traffic-police' });
    expect(t.timeline.at(-1)).toMatchObject({ action: 'checklist', note: '✓ 封闭积水路段' });
    expect(code(() => tickChecklist(t, 'close-road', 'unit:north', T0))).toBe('SW_ERR_JOINT_TRANSITION');
    expect(code(() => tickChecklist(t, 'fly', 'unit:north', T0))).toBe('SW_ERR_NOT_FOUND');
  });
});
