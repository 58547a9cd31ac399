import { afterEach, describe, expect, it } from 'vitest';
import { sampleTicket } from '../test/contract/state.contract.js';
import type { TicketEvent, TicketEventType } from './schemas.js';
import { TicketEventCoalescer } from './ticket-coalescer.js';

const event = (ticketId: string, version: number, type: TicketEventType = 'ticket.updated'): TicketEvent => ({
  id: `${ticketId}/v${version}`,
  type,
  at: version,
  ticket: sampleTicket({ id: ticketId, version }),
  recipients: ['north'],
});

describe('live ticket event coalescing', () => {
  let c: TicketEventCoalescer | undefined;
  afterEach(() => c?.close());

  it('sends the first event at once and only the latest of a burst when the window ends', async () => {
    const sent: string[] = [];
    c = new TicketEventCoalescer((e) => sent.push(e.id), 100);
    c.push(event('A', 1, 'ticket.created'));
    for (let v = 2; v <= 50; v++) c.push(event('A', v));
    c.push(event('B', 1, 'ticket.created'));
    expect(sent).toEqual(['A/v1', 'B/v1']);
    await new Promise((r) => setTimeout(r, 150));
    expect(sent).toEqual(['A/v1', 'B/v1', 'A/v50']);
    await new Promise((r) => setTimeout(r, 250));
    // Nothing held, nothing remembered.
    expect(c.size).toBe(0);
  });

  it('sends other event types at once, superseding a held update', async () => {
    const sent: string[] = [];
    c = new TicketEventCoalescer((e) => sent.push(e.id), 100);
    c.push(event('A', 1));
    c.push(event('A', 2));
    c.push(event('A', 3, 'ticket.closed'));
    await new Promise((r) => setTimeout(r, 250));
    expect(sent).toEqual(['A/v1', 'A/v3']);
  });
});
