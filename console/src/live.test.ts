import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatch, startLive, type LiveState } from './live.js';
import { ticket } from './test-tickets.js';

describe('events to handlers', () => {
  const record = () => {
    const got: string[] = [];
    return { got, handlers: { ticket: (t: { id: string }) => got.push(`ticket ${t.id}`), resync: () => got.push('resync') } };
  };

  it('takes the ticket from a ticket event or a bare ticket, and reloads on anything else', () => {
    const { got, handlers } = record();
    dispatch({ event: 'ticket.updated', data: JSON.stringify({ id: 'e1', type: 'ticket.updated', at: 1, ticket: ticket({ id: 'SW-7' }) }) }, handlers);
    dispatch({ event: undefined, data: JSON.stringify(ticket({ id: 'SW-8' })) }, handlers);
    dispatch({ event: 'supervision.updated', data: JSON.stringify({ order: { id: 'S-1' } }) }, handlers);
    dispatch({ event: 'ticket.updated', data: 'not json' }, handlers);
    dispatch({ event: 'ping', data: '{}' }, handlers);
    expect(got).toEqual(['ticket SW-7', 'ticket SW-8', 'resync', 'resync']);
  });

  it('passes on the event type and the supervision order it carries', () => {
    const seen: unknown[] = [];
    const order = { id: 'S-1', ticketId: 'SW-7', subcenterId: 'north', issuedTo: 'district', status: 'issued' };
    const handlers = { ticket: (_t: unknown, ev: unknown) => seen.push(ev), resync: () => seen.push('resync') };
    dispatch({ event: 'ticket.overdue', data: JSON.stringify({ id: 'e2', type: 'ticket.overdue', ticket: ticket({ id: 'SW-7' }), supervisionOrder: order }) }, handlers);
    dispatch({ event: 'ticket.created', data: JSON.stringify({ id: 'e3', ticket: ticket({ id: 'SW-9' }), supervisionOrder: { id: 1 } }) }, handlers);
    expect(seen).toEqual([{ type: 'ticket.overdue', supervisionOrder: order }, { type: 'ticket.created' }]);
  });
});

describe('the live connection', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  async function serve(handler: http.RequestListener): Promise<string> {
    server = http.createServer(handler);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/api/stream`;
  }

  function watch(url: string) {
    const seen: { states: LiveState[]; tickets: string[]; resyncs: number } = { states: [], tickets: [], resyncs: 0 };
    let notify = (): void => undefined;
    const changed = () => new Promise<void>((r) => (notify = r));
    const live = startLive(
      { token: 'tok-123', url, pollMs: 60_000 },
      {
        ticket: (t) => (seen.tickets.push(t.id), notify()),
        resync: () => (seen.resyncs++, notify()),
        state: (s) => (seen.states.push(s), notify()),
        unauthorized: () => notify(),
      },
    );
    return { seen, live, until: async (ok: () => boolean) => { while (!ok()) await changed(); } };
  }

  it('reads server-sent events with the bearer token, ticket by ticket', async () => {
    const headers: http.IncomingHttpHeaders[] = [];
    const url = await serve((req, res) => {
      headers.push(req.headers);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      res.write(`id: 1\nevent: ticket.created\ndata: ${JSON.stringify({ type: 'ticket.created', ticket: ticket({ id: 'SW-1' }) })}\n\n`);
      // An event split across writes.
      const second = `id: 2\nevent: ticket.updated\ndata: ${JSON.stringify({ type: 'ticket.updated', ticket: ticket({ id: 'SW-2' }) })}\n\n`;
      res.write(second.slice(0, 20));
      setImmediate(() => res.write(second.slice(20)));
    });
    const w = watch(url);
    await w.until(() => w.seen.tickets.length === 2);
    w.live.close();
    expect(w.seen.tickets).toEqual(['SW-1', 'SW-2']);
    expect(w.seen.states).toEqual(['connecting', 'stream']);
    expect(w.seen.resyncs).toBe(1);
    expect(headers[0]).toMatchObject({ authorization: 'Bearer tok-123', accept: 'text/event-stream' });
  });

  it('reconnects after the stream ends, with the last event id, and catches up', async () => {
    const lastIds: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      lastIds.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`retry: 10\nid: ${lastIds.length * 10}\ndata: ${JSON.stringify(ticket({ id: `SW-${lastIds.length}` }))}\n\n`);
    });
    const w = watch(url);
    await w.until(() => w.seen.tickets.length >= 2);
    w.live.close();
    expect(lastIds.slice(0, 2)).toEqual([undefined, '10']);
    expect(w.seen.states.slice(0, 4)).toEqual(['connecting', 'stream', 'offline', 'stream']);
    expect(w.seen.resyncs).toBeGreaterThanOrEqual(2);
  });

  it('falls back to reloading when the server has no stream', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"SW_ERR_NOT_FOUND","message":"route GET /api/stream not found"}}');
    });
    const w = watch(url);
    await w.until(() => w.seen.states.includes('polling') && w.seen.resyncs > 0);
    w.live.close();
    expect(w.seen.states).toEqual(['connecting', 'polling']);
  });
});
