/**
 * KPI arithmetic on a fixed set of seven tickets, with every expected value worked out by hand
 * below (times in minutes; asOf = 1000).
 *
 *   id  grade cat      zone  dept  dispatched respondBy responded resolveBy closed  alerts red
 *   t1  B     flooding z1    water 0          30        10        720       200     1      no
 *   t2  B     flooding z1    water 0          30        45 late   100       150 late 3      yes
 *   t3  B     flooding z2    water 100        130       -  missed 500       - overdue 1    yes
 *   t4  B     fire     -     fire  990        1020      -  pending1700      -       1      no
 *   t5  B     fire     -     fire  500        620       600       2000      -       2      no
 *   t6  A     gas-leak z3    gas   200        215       214       440       430     1      no
 *   t7  B     manhole  z1    city  300        330       320       900       - overdue 1    no
 *
 * Response: due = responded (t1 t2 t5 t6 t7) + missed (t3) = 6; on time t1 t5 t6 t7 = 4;
 *   rate 4/6; late 1 (t2); pending 1 (t4); mean (10+45+100+14+20)/5 = 37.8 min.
 * Handling: closed t1 t2 t6 = 3, on time t1 t6 = 2; open past resolveBy t3 t7 = 2 (t4 and t5
 *   are still within their deadline: left out); rate 2/(3+2) = 0.4;
 *   mean to close (200+150+(430-200))/3 = 580/3 min.
 * Whistles by category: flooding 3 tickets / 5 alerts, fire 2/3, gas-leak 1/1, manhole 1/1.
 */
import { describe, expect, it } from 'vitest';
import { sampleTicket } from '../../test/contract/state.contract.js';
import type { Grade, Ticket } from '../schemas.js';
import { computeKpis, kpisBySubcenter } from './kpis.js';

const m = 60_000;

function t(id: string, o: { grade?: Grade; cat: string; zone: string | null; dept: string; dispatched: number; respondBy: number; responded: number | null; resolveBy: number; closed: number | null; alerts: number; red?: boolean; sc?: string }): Ticket {
  return sampleTicket({
    id,
    grade: o.grade ?? 'B',
    category: o.cat,
    zoneId: o.zone,
    department: o.dept,
    subcenterId: o.sc ?? 'north',
    createdAt: o.dispatched * m,
    dispatchedAt: o.dispatched * m,
    respondBy: o.respondBy * m,
    respondedAt: o.responded === null ? null : o.responded * m,
    resolveBy: o.resolveBy * m,
    closedAt: o.closed === null ? null : o.closed * m,
    status: o.closed === null ? 'acknowledged' : 'closed',
    alertCount: o.alerts,
    red: o.red ?? false,
  });
}

const tickets = [
  t('t1', { cat: 'flooding', zone: 'z1', dept: 'water', dispatched: 0, respondBy: 30, responded: 10, resolveBy: 720, closed: 200, alerts: 1 }),
  t('t2', { cat: 'flooding', zone: 'z1', dept: 'water', dispatched: 0, respondBy: 30, responded: 45, resolveBy: 100, closed: 150, alerts: 3, red: true }),
  t('t3', { cat: 'flooding', zone: 'z2', dept: 'water', dispatched: 100, respondBy: 130, responded: null, resolveBy: 500, closed: null, alerts: 1, red: true, sc: 'south' }),
  t('t4', { cat: 'fire', zone: null, dept: 'fire', dispatched: 990, respondBy: 1020, responded: null, resolveBy: 1700, closed: null, alerts: 1, sc: 'south' }),
  t('t5', { cat: 'fire', zone: null, dept: 'fire', dispatched: 500, respondBy: 620, responded: 600, resolveBy: 2000, closed: null, alerts: 2 }),
  t('t6', { grade: 'A', cat: 'gas-leak', zone: 'z3', dept: 'gas', dispatched: 200, respondBy: 215, responded: 214, resolveBy: 440, closed: 430, alerts: 1 }),
  t('t7', { cat: 'manhole', zone: 'z1', dept: 'city', dispatched: 300, respondBy: 330, responded: 320, resolveBy: 900, closed: null, alerts: 1 }),
];
const asOf = 1000 * m;

describe('KPIs', () => {
  const k = computeKpis(tickets, asOf);

  it('computes the response-timeliness rate over the tickets whose response is due', () => {
    expect(k.response).toEqual({ due: 6, onTime: 4, late: 1, missed: 1, pending: 1, rate: 4 / 6, meanMs: 37.8 * m });
  });

  it('computes the handling-timeliness rate over closed plus open-and-overdue tickets', () => {
    expect(k.handling).toEqual({ closed: 3, closedOnTime: 2, openOverdue: 2, rate: 0.4, meanMsToClose: (580 / 3) * m });
  });

  it('counts whistles by grade, category, zone and department', () => {
    expect(k.tickets).toBe(7);
    expect(k.red).toBe(2);
    expect(k.byGrade).toEqual([
      { key: 'B', tickets: 6, alerts: 9 },
      { key: 'A', tickets: 1, alerts: 1 },
    ]);
    expect(k.byCategory).toEqual([
      { key: 'flooding', tickets: 3, alerts: 5 },
      { key: 'fire', tickets: 2, alerts: 3 },
      { key: 'gas-leak', tickets: 1, alerts: 1 },
      { key: 'manhole', tickets: 1, alerts: 1 },
    ]);
    expect(k.byZone).toEqual([
      { key: 'z1', tickets: 3, alerts: 5 },
      { key: null, tickets: 2, alerts: 3 },
      { key: 'z2', tickets: 1, alerts: 1 },
      { key: 'z3', tickets: 1, alerts: 1 },
    ]);
    expect(k.byDepartment.map((d) => [d.key, d.tickets])).toEqual([
      ['water', 3],
      ['fire', 2],
      ['city', 1],
      ['gas', 1],
    ]);
  });

  it('splits the rates by holding sub-center', () => {
    // north: t1 t2 t5 t6 t7 → response 4 on time of 5 due; handling closed t1 t2 t6 (on time t1 t6) + overdue t7 → 2/4.
    // south: t3 t4 → response 0 of 1 due (t4 pending); handling overdue t3 → 0/1.
    const by = kpisBySubcenter(tickets, asOf);
    expect(by.map((s) => [s.key, s.tickets, s.response.onTime, s.response.due, s.response.rate, s.handling.rate])).toEqual([
      ['north', 5, 4, 5, 0.8, 0.5],
      ['south', 2, 0, 1, 0, 0],
    ]);
  });

  it('has no rate when nothing is due', () => {
    const none = computeKpis([tickets[3]!], asOf);
    expect(none.response).toMatchObject({ due: 0, pending: 1, rate: null, meanMs: null });
    expect(none.handling).toMatchObject({ closed: 0, openOverdue: 0, rate: null, meanMsToClose: null });
    expect(computeKpis([], asOf).byCategory).toEqual([]);
  });
});
