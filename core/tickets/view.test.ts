import { describe, expect, it } from 'vitest';
import { sampleTicket } from '../../test/contract/state.contract.js';
import { ticketMessage } from '../ticket-message.js';
import type { TicketAlert } from '../schemas.js';
import { MAX_TICKET_ALERTS, MAX_TICKET_DEVICES } from './ticket-alerts.js';
import { MAX_TIMELINE_ENTRIES } from './timeline.js';
import { MAX_TICKET_MESSAGE_BYTES, ticketView } from './view.js';

describe('bounded ticket view', () => {
  it('keeps a message under its bound however large every field of the ticket is, and links the whole ticket', () => {
    const long = (c: string, n: number): string => c.repeat(n);
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
    const ticket = sampleTicket({
      id: 'SW-20260601-ABCDEF',
      title: long('标', 300),
      alerts,
      devices: Array.from({ length: MAX_TICKET_DEVICES }, (_, i) => long('d', 60) + i),
      timeline: Array.from({ length: MAX_TIMELINE_ENTRIES }, (_, i) => ({ at: i, actor: `unit:${long('u', 60)}`, action: 'feedback', note: long('反', 2000) })),
      appliedAlertIds: Array.from({ length: 32 }, () => long('a', 128)),
      supervisionOrderIds: Array.from({ length: 50 }, (_, i) => `SW-20260601-ABCDEF-S${i}`),
    });
    const order = { id: 'o', ticketId: ticket.id, subcenterId: 's', issuedTo: 'p', reason: 'response_overdue' as const, deadline: 1, status: 'issued' as const, createdAt: 1, updatedAt: 1, timeline: ticket.timeline };
    const body = JSON.stringify(ticketMessage({ id: 'SW-20260601-ABCDEF/v9', type: 'ticket.overdue', at: 1, ticket, recipients: ['s', 'p'], supervisionOrder: order }, 's'));
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_TICKET_MESSAGE_BYTES);
    const view = JSON.parse(body).ticket;
    expect(view).toMatchObject({ id: ticket.id, href: '/api/tickets/SW-20260601-ABCDEF', omitted: { timeline: 90, alerts: 30, devices: 80 } });
    expect(view).not.toHaveProperty('appliedAlertIds');
    expect(view.alerts.map((a: TicketAlert) => a.lastSeen)).toEqual([39, 38, 37, 36, 35, 34, 33, 32, 31, 30]);
  });

  it('is the ticket itself, with its link, when the ticket is small', () => {
    const ticket = sampleTicket();
    const { appliedAlertIds: _a, ...rest } = ticket;
    expect(ticketView(ticket)).toEqual({ ...rest, href: `/api/tickets/${ticket.id}` });
  });
});
