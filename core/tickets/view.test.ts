import { describe, expect, it } from 'vitest';
import { sampleTicket } from '../../test/contract/state.contract.js';
import { ticketMessage } from '../ticket-message.js';
import type { Ticket, TicketAlert } from '../schemas.js';
import { MAX_TICKET_ALERTS, MAX_TICKET_DEVICES } from './ticket-alerts.js';
import { MAX_TIMELINE_ENTRIES } from './timeline.js';
import { MAX_CHECKLIST_STEPS } from '../city.js';
import { MAX_CO_HANDLERS } from './joint.js';
import { MAX_TICKET_HOLDERS, MAX_TICKET_REPORTS } from './lifecycle.js';
import { MAX_TICKET_MESSAGE_BYTES, VIEW_GOVERNANCE, VIEW_GOVERNANCE_CHARS, VIEW_REPORTS, ticketView } from './view.js';

describe('bounded ticket view', () => {
  const long = (c: string, n: number): string => c.repeat(n);
  const at = 1_700_000_000_000;
  /** Actors as the schemas bound them (`unit:<id>`, `department:<id>`...: at most 80 characters). */
  const actor = long('a', 80);
  /** Returns and extension requests: the most a city may allow (sla.yaml governance, at most 10 each). */
  const MOST = 10;
  /** A ticket with every field at its largest, joint handling and the governance lists included. */
  function largest(): Ticket {
    const alerts: TicketAlert[] = Array.from({ length: MAX_TICKET_ALERTS }, (_, i) => ({
      id: long('a', 120) + i,
      fingerprint: long('f', 250) + i,
      deviceId: long('d', 60) + i,
      ruleId: long('r', 60) + i,
      metric: long('m', 64),
      value: 1.5,
      status: 'firing',
      firstSeen: i,
      lastSeen: i,
      startsAt: i,
      firings: 999,
      changes: [1, 2, 3, 4, 5, 6],
      flapping: true,
    }));
    return sampleTicket({
      id: 'SW-20260601-ABCDEF',
      title: long('标', 300),
      alerts,
      devices: Array.from({ length: MAX_TICKET_DEVICES }, (_, i) => long('d', 60) + i),
      timeline: Array.from({ length: MAX_TIMELINE_ENTRIES }, (_, i) => ({ at: i, actor: `unit:${long('u', 60)}`, action: 'feedback', note: long('反', 2000) })),
      appliedAlertIds: Array.from({ length: 32 }, () => long('a', 128)),
      supervisionOrderIds: Array.from({ length: 50 }, (_, i) => `SW-20260601-ABCDEF-S${i}`),
      holders: Array.from({ length: MAX_TICKET_HOLDERS }, (_, i) => long('h', 60) + i),
      leads: Array.from({ length: MAX_TICKET_HOLDERS }, (_, i) => long('l', 60) + i),
      plan: { category: long('c', 64), grade: 'A' },
      coHandlers: Array.from({ length: MAX_CO_HANDLERS }, (_, i) => ({ department: long('d', 62) + i, source: 'plan' as const, status: 'finished' as const, summonedAt: at, summonedBy: actor, checkInBy: at, checkedInAt: at, finishedAt: at, releasedAt: null, remindedAt: at, missedAt: at })),
      checklist: Array.from({ length: MAX_CHECKLIST_STEPS }, (_, i) => ({ id: long('i', 62) + i, text: long('步', 100), doneAt: at, doneBy: actor })),
      returns: Array.from({ length: MOST }, (_, i) => ({ at: at + i, party: actor, subcenterId: long('s', 64), department: long('d', 64), reason: long('退', 500), ruling: { at, by: actor, decision: 'sent_back' as const, note: long('裁', 500), subcenterId: long('s', 64), department: long('d', 64) } })),
      extensions: Array.from({ length: MOST }, (_, i) => ({ at: at + i, by: actor, approver: long('a', 64), subcenterId: long('s', 64), from: at, to: at, reason: long('延', 500), decision: { at, by: actor, approved: true, resolveBy: at, note: long('批', 500) } })),
      reports: Array.from({ length: MAX_TICKET_REPORTS }, (_, i) => ({ id: long('r', 62) + i, channel: 'open311' as const, by: actor, at })),
      ratings: Array.from({ length: MAX_TICKET_REPORTS }, (_, i) => ({ at, reportId: long('r', 62) + i, resolvedAt: at, fixed: true, satisfaction: 'satisfied' as const, note: long('评', 500) })),
    });
  }
  function message(ticket: Ticket): string {
    const order = { id: 'o', ticketId: ticket.id, subcenterId: 's', issuedTo: 'p', reason: 'response_overdue' as const, deadline: 1, status: 'issued' as const, createdAt: 1, updatedAt: 1, timeline: ticket.timeline };
    return JSON.stringify(ticketMessage({ id: 'SW-20260601-ABCDEF/v9', type: 'ticket.overdue', at: 1, ticket, recipients: ['s', 'p'], supervisionOrder: order }, 's'));
  }

  it('keeps a message under its bound however large every field of the ticket is, and links the whole ticket', () => {
    const ticket = largest();
    const body = message(ticket);
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_TICKET_MESSAGE_BYTES);
    const view = JSON.parse(body).ticket;
    expect(view).toMatchObject({ id: ticket.id, href: '/api/tickets/SW-20260601-ABCDEF', omitted: { timeline: 90, alerts: 30, devices: 80 } });
    expect(view).not.toHaveProperty('appliedAlertIds');
    expect(view.alerts.map((a: TicketAlert) => a.lastSeen)).toEqual([39, 38, 37, 36, 35, 34, 33, 32, 31, 30]);
  });

  it('carries every co-handler and checklist step, and the latest return, extension request, reports and rating with their texts cut', () => {
    const ticket = largest();
    const view = JSON.parse(message(ticket)).ticket;
    expect(view.coHandlers).toHaveLength(MAX_CO_HANDLERS);
    expect(view.checklist).toHaveLength(MAX_CHECKLIST_STEPS);
    expect([view.returns.length, view.extensions.length, view.reports.length, view.ratings.length]).toEqual([VIEW_GOVERNANCE, VIEW_GOVERNANCE, VIEW_REPORTS, VIEW_GOVERNANCE]);
    expect(view.omitted).toMatchObject({ returns: MOST - VIEW_GOVERNANCE, extensions: MOST - VIEW_GOVERNANCE, reports: MAX_TICKET_REPORTS - VIEW_REPORTS, ratings: MAX_TICKET_REPORTS - VIEW_GOVERNANCE });
    // The latest are kept: the one waiting for a decision is always the last.
    expect(view.returns[0].at).toBe(at + MOST - 1);
    expect(view.reports.at(-1).id).toBe(ticket.reports!.at(-1)!.id);
    expect(view.returns[0].reason).toHaveLength(VIEW_GOVERNANCE_CHARS);
    // Who held and led it is the store's, for access.
    expect(view).not.toHaveProperty('holders');
    expect(view).not.toHaveProperty('leads');
  });

  it('is the ticket itself, with its link, when the ticket is small', () => {
    const ticket = sampleTicket();
    const { appliedAlertIds: _a, ...rest } = ticket;
    expect(ticketView(ticket)).toEqual({ ...rest, href: `/api/tickets/${ticket.id}` });
  });
});
