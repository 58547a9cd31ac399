/**
 * Per-unit access and the ticket actions over real HTTP: two sub-centers, each with its own
 * token, each seeing and acting on its own tickets only; reassignment moves a ticket between
 * them with the reason in its timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };

describe('ticket access across two sub-centers', () => {
  let sw: TestPlatform;
  let north: string;
  let south: string;
  let northTicket: Ticket;
  let southTicket: Ticket;

  beforeAll(async () => {
    sw = await startTestPlatform();
    north = await sw.unitToken('north');
    south = await sw.unitToken('south');
    const wl = await sw.connect('wl-a1', await sw.provision('wl-a1', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-a1/telemetry', JSON.stringify({ values: { water_level: 0.6 } }), { qos: 1 });
    const smoke = await sw.connect('sm-a1', await sw.provision('sm-a1', IN_SOUTH, 'smoke'));
    const now = Date.now();
    // The fixture's smoke rule needs 30 s above the threshold, by the device's clock.
    await smoke.publishAsync('v1/devices/sm-a1/telemetry', JSON.stringify([{ ts: now - 40_000, values: { smoke: 20 } }, { ts: now - 5_000, values: { smoke: 22 } }]), { qos: 1 });
    const all = await waitFor(async () => {
      const list: Ticket[] = (await sw.api('GET', '/api/tickets')).body.tickets;
      return list.length === 2 ? list : undefined;
    }, 'two tickets');
    northTicket = all.find((t) => t.subcenterId === 'north')!;
    southTicket = all.find((t) => t.subcenterId === 'south')!;
    expect(southTicket).toMatchObject({ category: 'fire', department: 'fire-rescue', grade: 'C' });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('lists only the unit\'s own tickets; the admin sees all', async () => {
    expect((await sw.api('GET', '/api/tickets', undefined, north)).body.tickets.map((t: Ticket) => t.id)).toEqual([northTicket.id]);
    expect((await sw.api('GET', '/api/tickets', undefined, south)).body.tickets.map((t: Ticket) => t.id)).toEqual([southTicket.id]);
    expect((await sw.api('GET', '/api/tickets')).body.tickets).toHaveLength(2);
    expect(await sw.api('GET', '/api/tickets?subcenter=south', undefined, north)).toMatchObject({ status: 403, body: { error: { code: 'SW_ERR_FORBIDDEN' } } });
  });

  it('answers 404 for another unit\'s ticket, to reads and to every action', async () => {
    expect((await sw.api('GET', `/api/tickets/${northTicket.id}`, undefined, north)).status).toBe(200);
    const other = await sw.api('GET', `/api/tickets/${southTicket.id}`, undefined, north);
    expect(other).toMatchObject({ status: 404, body: { error: { code: 'SW_ERR_NOT_FOUND' } } });
    for (const action of ['ack', 'start', 'resolve', 'close']) {
      expect((await sw.api('POST', `/api/tickets/${southTicket.id}/${action}`, {}, north)).status).toBe(404);
    }
    expect((await sw.api('POST', `/api/tickets/${southTicket.id}/feedback`, { note: 'x' }, north)).status).toBe(404);
    expect((await sw.api('POST', `/api/tickets/${southTicket.id}/reassign`, { subcenter: 'north', reason: 'x' }, north)).status).toBe(404);
    expect((await sw.api('GET', `/api/tickets/${southTicket.id}`)).status).toBe(200);
  });

  it('keeps unit tokens away from admin routes, and refuses revoked or unknown tokens', async () => {
    for (const [method, url] of [
      ['GET', '/api/devices'],
      ['GET', '/api/tokens'],
      ['GET', '/metrics'],
    ] as const) {
      expect(await sw.api(method, url, undefined, north)).toMatchObject({ status: 403, body: { error: { code: 'SW_ERR_FORBIDDEN' } } });
    }
    expect((await sw.api('GET', '/api/subcenters', undefined, north)).status).toBe(200);
    expect((await sw.api('POST', '/api/tokens', { unit: 'nowhere' })).body.error.code).toBe('SW_ERR_UNIT_UNKNOWN');
    const issued = await sw.api('POST', '/api/tokens', { unit: 'north', label: '值班台' });
    expect(issued).toMatchObject({ status: 201, body: { unit: 'north', label: '值班台', token: expect.stringMatching(/^swu_[A-Za-z0-9_-]{43}$/) } });
    const { id, token: spare } = issued.body;
    const listed = (await sw.api('GET', '/api/tokens')).body.tokens as { id: string; unit: string }[];
    expect(listed.find((t) => t.id === id)).toMatchObject({ unit: 'north', label: '值班台', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(spare);
    expect((await sw.api('GET', '/api/tickets', undefined, spare)).status).toBe(200);
    expect((await sw.api('DELETE', `/api/tokens/${id}`)).status).toBe(204);
    expect(await sw.api('GET', '/api/tickets', undefined, spare)).toMatchObject({ status: 401, body: { error: { code: 'SW_ERR_UNAUTHORIZED' } } });
    expect((await sw.api('GET', '/api/tickets', undefined, 'swu_not-a-real-token')).status).toBe(401);
  });

  it('takes a ticket through ack, start, feedback, resolve and an operator\'s confirmed closing; refuses illegal moves with 409', async () => {
    const id = northTicket.id;
    const close = await sw.api('POST', `/api/tickets/${id}/close`, {}, north);
    expect(close).toMatchObject({ status: 409, body: { error: { code: 'SW_ERR_TICKET_TRANSITION', message: `ticket ${id} cannot go from dispatched to closed` } } });
    expect((await sw.api('POST', `/api/tickets/${id}/ack`, { note: '已签收' }, north)).body).toMatchObject({ status: 'acknowledged', respondedAt: expect.any(Number) });
    expect((await sw.api('POST', `/api/tickets/${id}/start`, {}, north)).body.status).toBe('in_progress');
    expect((await sw.api('POST', `/api/tickets/${id}/feedback`, { note: '网格员已到场，正在抽排' }, north)).body.status).toBe('in_progress');
    expect((await sw.api('POST', `/api/tickets/${id}/feedback`, {}, north)).body.error.code).toBe('SW_ERR_BODY_INVALID');
    expect((await sw.api('POST', `/api/tickets/${id}/ack`, {}, north)).status).toBe(409);
    expect((await sw.api('POST', `/api/tickets/${id}/resolve`, { note: '积水已排除' }, north)).body).toMatchObject({ status: 'resolved', resolvedAt: expect.any(Number) });
    const closed = (await sw.api('POST', `/api/tickets/${id}/close`, { note: '现场复核通过' }, north)).body as Ticket;
    expect(closed).toMatchObject({ status: 'closed', closure: { by: 'operator', actor: 'unit:north' } });
    expect(closed.timeline.filter((e) => e.actor === 'unit:north').map((e) => e.action)).toEqual(['acknowledged', 'in_progress', 'feedback', 'resolved', 'closed']);
    expect((await sw.api('POST', `/api/tickets/${id}/feedback`, { note: 'late' }, north)).status).toBe(409);
    expect((await sw.api('POST', `/api/tickets/${id}/reassign`, { subcenter: 'south', reason: 'x' }, north)).status).toBe(409);
  });

  it('reassigns with a reason: the ticket moves to the other unit, which must acknowledge it', async () => {
    const id = southTicket.id;
    expect((await sw.api('POST', `/api/tickets/${id}/reassign`, { subcenter: 'north' }, south)).body.error.code).toBe('SW_ERR_BODY_INVALID');
    expect((await sw.api('POST', `/api/tickets/${id}/reassign`, { subcenter: 'mars', reason: 'x' }, south)).body.error.code).toBe('SW_ERR_UNIT_UNKNOWN');
    expect((await sw.api('POST', `/api/tickets/${id}/reassign`, { department: 'plumbing', reason: 'x' }, south)).body.error.code).toBe('SW_ERR_BODY_INVALID');
    await sw.api('POST', `/api/tickets/${id}/ack`, {}, south);
    const moved = await sw.api('POST', `/api/tickets/${id}/reassign`, { subcenter: 'north', department: 'city-management', reason: '烟感位于北街道管辖的配电房' }, south);
    expect(moved.body).toMatchObject({ subcenterId: 'north', department: 'city-management', status: 'dispatched', respondedAt: null });
    expect(moved.body.timeline.at(-1)).toMatchObject({ actor: 'unit:south', action: 'reassigned', note: 'south → north, department fire-rescue → city-management: 烟感位于北街道管辖的配电房' });
    expect((await sw.api('GET', `/api/tickets/${id}`, undefined, south)).status).toBe(404);
    expect((await sw.api('GET', `/api/tickets/${id}`, undefined, north)).body.subcenterId).toBe('north');
    expect((await sw.api('POST', `/api/tickets/${id}/ack`, {}, north)).body.status).toBe('acknowledged');
  });
  it('serves KPIs scoped to the unit, and for the admin by sub-center and grade', async () => {
    // north now holds its own ticket (acknowledged in time, closed in time) and the one south
    // handed over (acknowledged in time by north): both rates 1. south holds nothing.
    const mine = await sw.api('GET', '/api/kpis', undefined, north);
    expect(mine.body).toMatchObject({
      subcenter: 'north',
      tickets: 2,
      response: { due: 2, onTime: 2, rate: 1 },
      handling: { closed: 1, closedOnTime: 1, openOverdue: 0, rate: 1 },
      byCategory: [
        { key: 'fire', tickets: 1 },
        { key: 'flooding', tickets: 1 },
      ],
    });
    expect((await sw.api('GET', '/api/kpis', undefined, south)).body).toMatchObject({ subcenter: 'south', tickets: 0, response: { due: 0, rate: null } });
    expect((await sw.api('GET', '/api/kpis?subcenter=north', undefined, south)).status).toBe(403);
    const gradeC = await sw.api('GET', `/api/kpis?grade=C&from=${new Date(Date.now() - 3_600_000).toISOString()}`);
    expect(gradeC.body).toMatchObject({ grade: 'C', tickets: 1, bySubcenter: [{ key: 'north', tickets: 1 }] });
    expect((await sw.api('GET', '/api/kpis?from=yesterday')).body.error.code).toBe('SW_ERR_BODY_INVALID');
    expect((await sw.api('GET', '/api/kpis?from=2000&to=1000')).body.error.code).toBe('SW_ERR_BODY_INVALID');
  });
});
