/**
 * The governance KPIs on hand-worked data (times in minutes); the same tables are the worked
 * examples of docs/TICKETS.md, section 4.
 */
import { describe, expect, it } from 'vitest';
import { sampleTicket } from '../../test/contract/state.contract.js';
import type { CoHandler, ExtensionRequest, ReporterRating, Ticket, TicketReturn } from '../schemas.js';
import { checkInKpis, extensionKpi, recurrenceKpi, returnKpis, satisfactionKpi } from './governance-kpis.js';

const co = (department: string, checkInBy: number, over: Partial<CoHandler> = {}): CoHandler => ({
  department,
  source: 'plan',
  status: 'summoned',
  summonedAt: 0,
  summonedBy: 'system',
  checkInBy,
  checkedInAt: null,
  finishedAt: null,
  releasedAt: null,
  remindedAt: null,
  missedAt: null,
  ...over,
});

describe('check-in timeliness (报到及时率)', () => {
  it('counts each summons against its check-in deadline, per department and in all', () => {
    const tickets = [
      sampleTicket({ coHandlers: [co('wa', 30, { checkedInAt: 20, status: 'checked_in' }), co('tp', 30, { checkedInAt: 45, status: 'checked_in' })] }),
      sampleTicket({ coHandlers: [co('wa', 100), co('cm', 1100)] }),
      sampleTicket({ coHandlers: [co('tp', 50, { status: 'released', releasedAt: 40 }), co('cm', 60, { status: 'released', releasedAt: 70 })] }),
    ];
    const rows = checkInKpis(tickets, 1000);
    expect(rows).toEqual([
      { key: null, summoned: 6, onTime: 1, late: 1, missed: 2, released: 1, pending: 1, rate: 0.25, meanMs: 32.5 },
      { key: 'cm', summoned: 2, onTime: 0, late: 0, missed: 1, released: 0, pending: 1, rate: 0, meanMs: null },
      { key: 'tp', summoned: 2, onTime: 0, late: 1, missed: 0, released: 1, pending: 0, rate: 0, meanMs: 45 },
      { key: 'wa', summoned: 2, onTime: 1, late: 0, missed: 1, released: 0, pending: 0, rate: 0.5, meanMs: 20 },
    ]);
  });
});

const ret = (party: string, decision: 'reassigned' | 'sent_back' | null): TicketReturn => ({
  at: 1,
  party,
  subcenterId: 'x',
  department: 'wa',
  reason: 'r',
  ruling: decision === null ? null : { at: 2, by: 'admin', decision, note: 'n', subcenterId: 'y', department: 'wa' },
});

describe('returns (退单) per party', () => {
  it('divides the tickets a party returned by those it handled, and tells upheld from rejected returns', () => {
    const tickets = [
      sampleTicket({ holders: ['north'], leads: ['wa'] }),
      sampleTicket({ holders: ['north', 'district', 'south'], leads: ['wa'], returns: [ret('unit:north', 'reassigned')] }),
      sampleTicket({ holders: ['south', 'district'], leads: ['wa'], returns: [ret('unit:south', 'sent_back')] }),
      sampleTicket({ holders: ['north', 'district'], leads: ['wa', 'cm'], returns: [ret('department:wa', null)] }),
    ];
    const rows = new Map(returnKpis(tickets).map((r) => [r.key, r]));
    expect(rows.get('unit:north')).toEqual({ key: 'unit:north', handled: 3, returned: 1, returns: 1, upheld: 1, rejected: 0, pending: 0, rate: 1 / 3, upheldRate: 1 });
    expect(rows.get('unit:south')).toEqual({ key: 'unit:south', handled: 2, returned: 1, returns: 1, upheld: 0, rejected: 1, pending: 0, rate: 0.5, upheldRate: 0 });
    expect(rows.get('unit:district')).toMatchObject({ handled: 3, returned: 0, rate: 0, upheldRate: null });
    expect(rows.get('department:wa')).toEqual({ key: 'department:wa', handled: 4, returned: 1, returns: 1, upheld: 0, rejected: 0, pending: 1, rate: 0.25, upheldRate: null });
    expect(rows.get('department:cm')).toMatchObject({ handled: 1, returned: 0 });
  });
});

const ext = (from: number, to: number, decision: { by: string; approved: boolean } | null): ExtensionRequest => ({
  at: 1,
  by: 'unit:north',
  approver: 'district',
  subcenterId: 'north',
  from,
  to,
  reason: 'r',
  decision: decision && { at: 2, ...decision, ...(decision.approved ? { resolveBy: to } : {}) },
});

describe('extensions (延期)', () => {
  it('counts requests by outcome and tickets closed on time only thanks to an extension', () => {
    const tickets: Ticket[] = [
      sampleTicket({ resolveBy: 200, closedAt: 150, status: 'closed', extensions: [ext(100, 200, { by: 'unit:district', approved: true })] }),
      sampleTicket({ resolveBy: 100, extensions: [ext(100, 150, { by: 'unit:district', approved: false }), ext(100, 150, { by: 'system', approved: false })] }),
      sampleTicket({ resolveBy: 100, extensions: [ext(100, 300, null)] }),
      sampleTicket({ resolveBy: 100 }),
    ];
    expect(extensionKpi(tickets)).toEqual({
      tickets: 4,
      requestedTickets: 3,
      requests: 4,
      approved: 1,
      refused: 1,
      lapsed: 1,
      pending: 1,
      extended: 1,
      rate: 0.25,
      onTimeByExtension: 1,
      byUnit: [{ key: 'north', requests: 4, approved: 1 }],
    });
  });
});

describe('recurrence', () => {
  it('counts tickets opened within N days after the same place and category was closed', () => {
    const day = 86_400_000;
    const z1 = 'flooding|zone:z1';
    const earlier = [sampleTicket({ mergeKey: z1, zoneId: 'z1', category: 'flooding', createdAt: -10 * day, closedAt: -5 * day })];
    const tickets = [
      sampleTicket({ mergeKey: z1, zoneId: 'z1', category: 'flooding', createdAt: 2 * day, closedAt: 3 * day }),
      sampleTicket({ mergeKey: z1, zoneId: 'z1', category: 'flooding', createdAt: 50 * day }),
      sampleTicket({ mergeKey: 'fire|zone:z1', zoneId: 'z1', category: 'fire', createdAt: 3 * day }),
      sampleTicket({ mergeKey: 'flooding|zone:z2', zoneId: 'z2', category: 'flooding', createdAt: 10 * day }),
    ];
    const k = recurrenceKpi(tickets, earlier, 30);
    expect(k).toMatchObject({ withinDays: 30, tickets: 4, recurring: 1, rate: 0.25 });
    expect(k.byPlace[0]).toEqual({ zoneId: 'z1', category: 'flooding', tickets: 2, recurring: 1 });
    // Within 50 days the second z1 flood recurs too (47 days after the first closed).
    expect(recurrenceKpi(tickets, earlier, 50).recurring).toBe(2);
  });
});

const rating = (satisfaction: ReporterRating['satisfaction'], fixed: boolean): ReporterRating => ({ at: 1, reportId: 'RP-1', resolvedAt: 1, fixed, satisfaction });

describe('reporter satisfaction (满意率)', () => {
  it('rates the answers of every reporter, also of one whose report joined a sensor\'s ticket, and counts who closed and who is awaited', () => {
    const tickets = [
      sampleTicket({ origin: 'report', status: 'closed', ratings: [rating('satisfied', true)], closure: { by: 'reporter', actor: 'reporter:RP-1', at: 5 } }),
      sampleTicket({ origin: 'report', status: 'closed', ratings: [rating('dissatisfied', false), rating('basically_satisfied', true)], closure: { by: 'reporter', actor: 'reporter:RP-2', at: 5 } }),
      sampleTicket({ origin: 'report', status: 'resolved', resolvedAt: 7, confirmationTimedOut: { resolvedAt: 7, at: 9 } }),
      sampleTicket({ origin: 'report', status: 'resolved', resolvedAt: 7 }),
      sampleTicket({ origin: 'report', status: 'closed', closure: { by: 'district', actor: 'unit:d', at: 5 } }),
      // A citizen's report joined this sensor's ticket: the sensor closed it, the citizen rated it.
      sampleTicket({ origin: 'sensor', status: 'closed', ratings: [rating('satisfied', true)] }),
    ];
    expect(satisfactionKpi(tickets)).toEqual({
      reported: 5,
      rated: 4,
      satisfied: 2,
      basicallySatisfied: 1,
      dissatisfied: 1,
      rate: 3 / 4,
      notFixed: 1,
      closedByReporter: 2,
      closedByDistrict: 1,
      awaitingReporter: 1,
      awaitingDistrict: 1,
    });
  });
});
