/**
 * Server-sent events at /api/stream over a real socket: each unit's stream carries the events
 * of its own tickets only, named by type with JSON data; the admin's carries all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStream } from '../support/sse.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };

describe('ticket event stream', () => {
  let sw: TestPlatform;
  const streams: { close(): void }[] = [];
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await sw?.stop();
  });

  it('sends each unit the events of its own tickets, and the admin all of them', async () => {
    const base = `http://127.0.0.1:${sw.platform.httpPort}/api/stream`;
    const north = await openEventStream(base, { authorization: `Bearer ${await sw.unitToken('north')}` });
    // EventSource cannot send headers: the token may come in the query.
    const south = await openEventStream(`${base}?access_token=${encodeURIComponent(await sw.unitToken('south'))}`);
    const admin = await openEventStream(base, { authorization: `Bearer ${sw.platform.adminToken}` });
    streams.push(north, south, admin);
    expect([north.status, south.status, admin.status]).toEqual([200, 200, 200]);
    expect((await openEventStream(base)).status).toBe(401);

    const wl = await sw.connect('wl-s1', await sw.provision('wl-s1', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-s1/telemetry', JSON.stringify({ values: { water_level: 0.7 } }), { qos: 1 });
    const created = await waitFor(() => north.events.find((e) => e.event === 'ticket.created'), 'north\'s ticket.created');
    // The holder, and its lead department (departments see the tickets they lead).
    expect(created.data).toMatchObject({ event: 'ticket.created', id: created.id, recipients: ['north', 'water-affairs'], ticket: { subcenterId: 'north', status: 'dispatched' } });
    const ticketId = created.data.ticket.id as string;

    const smoke = await sw.connect('sm-s1', await sw.provision('sm-s1', IN_SOUTH, 'smoke'));
    const now = Date.now();
    await smoke.publishAsync('v1/devices/sm-s1/telemetry', JSON.stringify([{ ts: now - 40_000, values: { smoke: 20 } }, { ts: now - 5_000, values: { smoke: 25 } }]), { qos: 1 });
    await waitFor(() => south.events.find((e) => e.event === 'ticket.created'), 'south\'s ticket.created');
    await sw.api('POST', `/api/tickets/${ticketId}/ack`, { note: '收到' });
    await waitFor(() => north.events.find((e) => e.event === 'ticket.updated' && e.data.ticket.status === 'acknowledged'), 'the acknowledgment on north\'s stream');
    await waitFor(() => (admin.events.length >= 3 ? true : undefined), 'three events on the admin stream');

    // By now south has seen its own ticket created; north's ticket never reached it, and vice versa.
    expect(south.events.every((e) => e.data.ticket.subcenterId === 'south')).toBe(true);
    expect(north.events.every((e) => e.data.ticket.subcenterId === 'north')).toBe(true);
    expect(admin.events.map((e) => [e.event, e.data.ticket.subcenterId])).toEqual([
      ['ticket.created', 'north'],
      ['ticket.created', 'south'],
      ['ticket.updated', 'north'],
    ]);
  });

  it('ends a unit\'s open stream when its token is revoked, and its events stop', async () => {
    const base = `http://127.0.0.1:${sw.platform.httpPort}/api/stream`;
    const issued = await sw.api('POST', '/api/tokens', { unit: 'north' });
    const stream = await openEventStream(base, { authorization: `Bearer ${issued.body.token}` });
    const other = await openEventStream(base, { authorization: `Bearer ${await sw.unitToken('north')}` });
    streams.push(stream, other);
    expect(stream.status).toBe(200);
    let ended = false;
    void stream.ended.then(() => (ended = true));
    expect((await sw.api('DELETE', `/api/tokens/${issued.body.id}`)).status).toBe(204);
    await waitFor(() => ended || undefined, 'the revoked token\'s stream to end');
    // A ticket raised after the revocation reaches the unit's other, valid stream only.
    const device = await sw.connect('wl-revoke', await sw.provision('wl-revoke', IN_TUNNEL, 'water_level'));
    await device.publishAsync('v1/devices/wl-revoke/telemetry', JSON.stringify({ values: { water_level: 0.6 } }), { qos: 1 });
    await waitFor(() => other.events.find((e) => e.data.ticket.devices.includes('wl-revoke')), 'the ticket on the valid stream');
    expect(stream.events.some((e) => e.data.ticket.devices.includes('wl-revoke'))).toBe(false);
    // The revoked token cannot open another.
    expect((await openEventStream(base, { authorization: `Bearer ${issued.body.token}` })).status).toBe(401);
  });
});

