import { describe, expect, it } from 'vitest';
import { IN_TUNNEL, governanceCity } from '../../test/support/governance.js';
import { CityIndex } from '../city-index.js';
import { loadCity } from '../city.js';
import { isStreetWatchError } from '../errors.js';
import type { Alert, Ticket } from '../schemas.js';
import { applyPlan, moveCoHandler } from './joint.js';
import { applyResolved, mergeFiring, mergeKeyOf, ticketFromAlert, transition } from './lifecycle.js';
import { MAX_RATINGS, awaitsAnswer, awaitsDistrict, closeByDistrict, confirmByReporter, reportAlert, type ReportIntake } from './reports.js';
import { fireTimer, holdStart, timersFor, type FireContext } from './timers.js';

const index = new CityIndex(loadCity(governanceCity()));
const sla = index.city.sla;
const min = 60_000;
const hour = 60 * min;
const T0 = 50_000_000;
const fire: FireContext = { sla, parentOf: () => 'test-district', districtId: 'test-district' };

const intake = (id: string, over: Partial<ReportIntake> = {}): ReportIntake => ({
  id,
  channel: 'open311',
  actor: `reporter:${id}`,
  category: 'flooding',
  grade: 'C',
  location: IN_TUNNEL,
  note: '隧道积水约半米',
  at: T0,
  ...over,
});
const sensor: Alert = {
  id: 'tunnel-flooding/wl-1@1:firing',
  fingerprint: 'tunnel-flooding/wl-1',
  status: 'firing',
  ruleId: 'tunnel-flooding',
  deviceId: 'wl-1',
  metric: 'water_level',
  value: 0.5,
  grade: 'B',
  category: 'flooding',
  department: 'water-affairs',
  zoneId: 'north-tunnel',
  loc: IN_TUNNEL,
  ts: T0,
  startsAt: T0,
  summary: 'water_level 0.5 m',
};
const grading = { sla, zoneRisk: 'high' as const };
const open = (a: Alert): Ticket => ticketFromAlert(a, { ...grading, id: 'SW-P', now: T0, route: { subcenterId: 'north', fallback: false }, department: 'water-affairs', title: 't' });

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (isStreetWatchError(err)) return err.code;
    throw err;
  }
  return undefined;
};

describe('people\'s reports as alerts', () => {
  it('places a report in the zone a sensor there would name, so both have one merge key', () => {
    const a = reportAlert(intake('RP-1'), index);
    expect(a).toMatchObject({ fingerprint: 'report:RP-1', status: 'firing', zoneId: 'north-tunnel', subcenterId: 'north', grade: 'C', department: '', report: { id: 'RP-1', channel: 'open311', by: 'reporter:RP-1' } });
    expect(mergeKeyOf(a)).toBe(mergeKeyOf(sensor));
    expect(reportAlert(intake('RP-2', { location: { lat: 23.115, lon: 113.335 } }), index).zoneId).toBeUndefined();
  });

  it('opens a reported ticket with no device, and a sensor alert joins it', () => {
    let t = open(reportAlert(intake('RP-1'), index));
    expect(t).toMatchObject({ origin: 'report', devices: [], reports: [{ id: 'RP-1', channel: 'open311', by: 'reporter:RP-1', at: T0 }], reportCount: 1, grade: 'B' });
    expect(t.timeline[0]).toMatchObject({ actor: 'reporter:RP-1', action: 'created' });
    t = mergeFiring(t, sensor, T0 + min, grading)!.ticket;
    expect(t).toMatchObject({ origin: 'report', devices: ['wl-1'], alertCount: 2 });
  });

  it('merges a report into a sensor ticket without counting it as a device; the sensor\'s hold ignores it', () => {
    let t = open(sensor);
    const joined = mergeFiring(t, reportAlert(intake('RP-3'), index), T0 + min, grading)!;
    t = joined.ticket;
    expect(t).toMatchObject({ origin: 'sensor', devices: ['wl-1'], alertCount: 2, reports: [{ id: 'RP-3' }], reportCount: 1 });
    expect(t.timeline.at(-1)).toMatchObject({ actor: 'reporter:RP-3', action: 'report' });
    t = transition(t, 'resolved', 'unit:north', T0 + 2 * min);
    expect(holdStart(t)).toBeUndefined();
    t = applyResolved(t, { ...sensor, id: 'tunnel-flooding/wl-1@1:resolved', status: 'resolved' }, T0 + 3 * min, { sla })!.ticket;
    expect(holdStart(t)).toBe(T0 + 3 * min);
  });
});

/** A report on the test ticket, as the store links it. */
const on = (id: string): { id: string; ticketId: string } => ({ id, ticketId: 'SW-P' });

describe('the reporter confirms the closing (上报人确认结案)', () => {
  const resolved = (): Ticket => transition(open(reportAlert(intake('RP-1'), index)), 'resolved', 'unit:north', T0 + hour);

  it('closes on "fixed" with the rating; reopens on "not fixed"', () => {
    const t = resolved();
    expect(timersFor(t, sla).map((x) => [x.kind, x.dueAt - t.resolvedAt!])).toEqual([['confirmation_due', 72 * hour]]);
    const closed = confirmByReporter(t, on('RP-1'), { fixed: true, satisfaction: 'satisfied', note: '处理及时' }, T0 + 2 * hour);
    expect(closed).toMatchObject({ status: 'closed', closedAt: T0 + 2 * hour, closure: { by: 'reporter', actor: 'reporter:RP-1' } });
    expect(closed.ratings).toEqual([{ at: T0 + 2 * hour, reportId: 'RP-1', resolvedAt: T0 + hour, fixed: true, satisfaction: 'satisfied', note: '处理及时' }]);
    const reopened = confirmByReporter(t, on('RP-1'), { fixed: false, satisfaction: 'dissatisfied' }, T0 + 2 * hour);
    expect(reopened.status).toBe('reopened');
    expect(reopened.timeline.at(-1)).toMatchObject({ actor: 'reporter:RP-1', action: 'reopened' });
    expect(code(() => confirmByReporter(reopened, on('RP-1'), { fixed: true, satisfaction: 'satisfied' }, T0))).toBe('SW_ERR_CONFIRMATION_REFUSED');
    expect(code(() => confirmByReporter(t, { id: 'RP-9', ticketId: null }, { fixed: true, satisfaction: 'satisfied' }, T0))).toBe('SW_ERR_CONFIRMATION_REFUSED');
  });

  it('lets a reporter whose report joined a sensor\'s ticket rate each resolution once, before and after the closing; only the sensor closes it', () => {
    let t = mergeFiring(open(sensor), reportAlert(intake('RP-3'), index), T0 + min, grading)!.ticket;
    expect(code(() => confirmByReporter(t, on('RP-3'), { fixed: true, satisfaction: 'satisfied' }, T0 + 2 * min))).toBe('SW_ERR_CONFIRMATION_REFUSED');
    t = transition(t, 'resolved', 'unit:north', T0 + hour);
    expect(awaitsAnswer(t, 'RP-3')).toBe(true);
    const rated = confirmByReporter(t, on('RP-3'), { fixed: true, satisfaction: 'basically_satisfied', note: '已通行' }, T0 + 2 * hour);
    expect(rated).toMatchObject({ status: 'resolved', closedAt: null, ratings: [{ reportId: 'RP-3', resolvedAt: T0 + hour, fixed: true, satisfaction: 'basically_satisfied' }] });
    expect(rated.timeline.at(-1)).toMatchObject({ actor: 'reporter:RP-3', action: 'rated', note: 'fixed, basically_satisfied: 已通行' });
    expect(awaitsAnswer(rated, 'RP-3')).toBe(false);
    expect(code(() => confirmByReporter(rated, on('RP-3'), { fixed: false, satisfaction: 'dissatisfied' }, T0 + 3 * hour))).toBe('SW_ERR_CONFIRMATION_REFUSED');
    // Not fixed reopens a resolved ticket, as a new report there would.
    expect(confirmByReporter(t, on('RP-3'), { fixed: false, satisfaction: 'dissatisfied' }, T0 + 2 * hour)).toMatchObject({ status: 'reopened', ratings: [{ fixed: false }] });
    // After the sensor's closing the answer is recorded; the ticket stays closed.
    const closed = transition(t, 'closed', 'system', T0 + 2 * hour);
    expect(awaitsAnswer(closed, 'RP-3')).toBe(true);
    const late = confirmByReporter(closed, on('RP-3'), { fixed: false, satisfaction: 'dissatisfied' }, T0 + 3 * hour);
    expect(late).toMatchObject({ status: 'closed', ratings: [{ fixed: false, satisfaction: 'dissatisfied' }] });
    expect(late.timeline.at(-1)!.action).toBe('rated');
    // A report on another ticket answers nothing here.
    expect(code(() => confirmByReporter(t, { id: 'RP-3', ticketId: 'SW-OTHER' }, { fixed: true, satisfaction: 'satisfied' }, T0))).toBe('SW_ERR_CONFIRMATION_REFUSED');
  });

  it('keeps the latest MAX_RATINGS answers when more reporters than that joined and answered', () => {
    let t = open(sensor);
    const ids = Array.from({ length: MAX_RATINGS + 5 }, (_, i) => `RP-${100 + i}`);
    for (const id of ids) t = mergeFiring(t, reportAlert(intake(id), index), T0 + min, grading)!.ticket;
    t = transition(t, 'resolved', 'unit:north', T0 + hour);
    ids.forEach((id, i) => (t = confirmByReporter(t, on(id), { fixed: true, satisfaction: 'satisfied' }, T0 + hour + i)));
    expect(t.ratings!.map((r) => r.reportId)).toEqual(ids.slice(-MAX_RATINGS));
    expect(t.status).toBe('resolved');
  });

  it('hands the closing to the district once the reporter\'s time runs out', () => {
    const t = resolved();
    expect(code(() => closeByDistrict(t, 'unit:test-district', T0 + 2 * hour))).toBe('SW_ERR_CONFIRMATION_REFUSED');
    const timer = timersFor(t, sla)[0]!;
    const fired = fireTimer(t, timer, timer.dueAt, fire)!;
    expect(fired).toMatchObject({ type: 'ticket.updated', recipients: ['north', 'test-district'] });
    expect(awaitsDistrict(fired.ticket)).toBe(true);
    expect(timersFor(fired.ticket, sla)).toEqual([]);
    const closed = closeByDistrict(fired.ticket, 'unit:test-district', timer.dueAt + hour, '电话回访未接通');
    expect(closed).toMatchObject({ status: 'closed', closure: { by: 'district', actor: 'unit:test-district' } });
  });
});

describe('check-in timers', () => {
  it('remind each summoned department before its check-in deadline, then escalate a miss to the district', () => {
    let t = applyPlan({ ...open(sensor), grade: 'A' }, index.city.responsePlans.get('flooding'), T0).ticket;
    const checkins = timersFor(t, sla).filter((x) => x.kind.startsWith('checkin'));
    expect(checkins.map((x) => [x.id, x.dueAt - T0])).toEqual([
      ['SW-P/checkin_reminder/traffic-police', 25 * min],
      ['SW-P/checkin_reminder/water-affairs', 25 * min],
      ['SW-P/checkin_due/traffic-police', 30 * min],
      ['SW-P/checkin_due/water-affairs', 30 * min],
      ['SW-P/checkin_reminder/city-management', 40 * min],
      ['SW-P/checkin_due/city-management', 45 * min],
    ]);
    t = moveCoHandler(t, 'water-affairs', 'checked_in', 'department:water-affairs', T0 + 5 * min);
    const reminder = fireTimer(t, { id: 'SW-P/checkin_reminder/traffic-police', ticketId: 'SW-P', kind: 'checkin_reminder', dueAt: T0 + 25 * min }, T0 + 25 * min, fire)!;
    expect(reminder).toMatchObject({ type: 'ticket.reminder', recipients: ['north', 'traffic-police'] });
    t = reminder.ticket;
    const miss = fireTimer(t, { id: 'SW-P/checkin_due/traffic-police', ticketId: 'SW-P', kind: 'checkin_due', dueAt: T0 + 30 * min }, T0 + 30 * min, fire)!;
    expect(miss).toMatchObject({ type: 'ticket.overdue', recipients: ['north', 'traffic-police', 'test-district'] });
    expect(miss.supervisionOrder).toMatchObject({ reason: 'checkin_overdue', department: 'traffic-police', issuedTo: 'test-district', deadline: T0 + 30 * min });
    t = miss.ticket;
    expect(t.coHandlers!.find((c) => c.department === 'traffic-police')).toMatchObject({ remindedAt: T0 + 25 * min, missedAt: T0 + 30 * min, status: 'summoned' });
    // The holder's red flag is its own deadlines' record; the department's miss is on its row.
    expect(t.red).toBe(false);
    expect(timersFor(t, sla).filter((x) => x.kind.startsWith('checkin')).map((x) => x.id)).toEqual(['SW-P/checkin_reminder/city-management', 'SW-P/checkin_due/city-management']);
    // Fired again (another instance, a replay): nothing to do.
    expect(fireTimer(t, { id: 'SW-P/checkin_due/traffic-police', ticketId: 'SW-P', kind: 'checkin_due', dueAt: T0 + 30 * min }, T0 + 31 * min, fire)).toBeUndefined();
  });
});
