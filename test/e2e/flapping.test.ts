/**
 * The flapping probe, as an attacker sends it: one device publishes 1000 readings alternating
 * alarm and normal in one QoS 1 publish (twice), against the whole platform over real sockets.
 * Counted at the receivers: webhooks (and their bytes) at a real HTTP receiver that checks
 * signatures and keys, server-sent events on the admin's stream, messages on the unit's MQTT
 * feed; and the ticket itself: one ticket, flagged flapping, its grade untouched by the repeats,
 * under 100 KB.
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { MAX_TICKET_MESSAGE_BYTES } from '../../core/tickets/view.js';
import { openEventStream } from '../support/sse.js';
import { cityWithWebhooks, collect, metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { IdempotentReceiver } from '../support/webhook-receiver.js';

const SECRET = 'north-webhook-secret-flap';
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
/** A repeat-heavy row as in the demo city: ten firings of one device must not meet it. */
const SLA = `grades:
  A: { respondWithin: 15m, resolveWithin: 4h, remindBefore: 5m }
  B: { respondWithin: 30m, resolveWithin: 12h, remindBefore: 10m }
  C: { respondWithin: 2h, resolveWithin: 24h, remindBefore: 30m }
  D: { respondWithin: 4h, resolveWithin: 72h, remindBefore: 1h }
grading:
  aggregation:
    - { minDevices: 3, raise: 1 }
    - { minAlerts: 10, raise: 1 }
`;

describe('a flapping device', () => {
  let sw: TestPlatform;
  const receiver = new IdempotentReceiver(SECRET);
  beforeAll(async () => {
    await receiver.up();
    const cityDir = cityWithWebhooks({ north: { url: receiver.url, secret: SECRET } });
    fs.writeFileSync(path.join(cityDir, 'sla.yaml'), SLA);
    sw = await startTestPlatform({ cityDir });
  });
  afterAll(async () => {
    await sw?.stop();
    await receiver.down();
  });

  it('yields one flagged ticket under 100 KB and a handful of deliveries on every channel, whatever it publishes', { timeout: 120_000 }, async () => {
    const sse = await openEventStream(`http://127.0.0.1:${sw.platform.httpPort}/api/stream`, { authorization: `Bearer ${sw.platform.adminToken}` });
    const unitToken = await sw.unitToken('north');
    const feed = await mqtt.connectAsync(sw.mqttUrl, { clientId: 'subcenter:north', username: 'subcenter:north', password: unitToken, reconnectPeriod: 0 });
    const feedMessages = await collect(feed, 'v1/subcenters/north/tickets');
    const device = await sw.connect('wl-flap', await sw.provision('wl-flap', IN_TUNNEL, 'water_level'));
    // 1000 readings 100 ms apart ending now: valid timestamps, alarm (0.5 > 0.3) and normal (0.1 < 0.2) in turn.
    const t0 = Date.now() - 100_000;
    const payload = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ ts: t0 + 100 * i, values: { water_level: i % 2 === 0 ? 0.5 : 0.1 } })));
    expect(Buffer.byteLength(payload)).toBeGreaterThan(40_000);

    const settled = async (firings: number): Promise<Ticket> => {
      const ticket = await waitFor(async () => {
        const [t] = (await sw.api('GET', '/api/tickets?subcenter=north')).body.tickets as Ticket[];
        return t && t.firings === firings && t.alerts.every((a) => a.status === 'resolved') ? t : undefined;
      }, `${firings} firings on the ticket`, 60_000);
      // Every message delivered, none waiting in a coalescing window.
      await waitFor(async () => {
        const d = (await sw.api('GET', `/api/tickets/${ticket.id}`)).body.delivery as { state: string }[];
        return d.length > 0 && d.every((m) => m.state === 'delivered') || undefined;
      }, 'the webhooks delivered', 30_000);
      return ticket;
    };

    await device.publishAsync('v1/devices/wl-flap/telemetry', payload, { qos: 1 });
    const first = await settled(500);
    await device.publishAsync('v1/devices/wl-flap/telemetry', payload, { qos: 1 });
    // Let the second publish go through the pipeline and any window pass.
    await new Promise((r) => setTimeout(r, 3_000));
    const ticket = (await sw.api('GET', `/api/tickets/${first.id}`)).body as Ticket & { delivery: unknown; supervisionOrders: unknown };
    await waitFor(async () => ((await sw.api('GET', `/api/tickets/${first.id}`)).body.delivery as { state: string }[]).every((m) => m.state === 'delivered') || undefined, 'nothing pending');

    const tickets = (await sw.api('GET', '/api/tickets')).body.tickets as Ticket[];
    expect(tickets.map((t) => t.id)).toEqual([first.id]);
    const { delivery: _d, supervisionOrders: _s, ...stored } = ticket;
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThan(100 * 1024);
    expect(ticket).toMatchObject({ grade: 'B', baseGrade: 'B', gradeReasons: [], alertCount: 1, firings: 500, flapping: true, devices: ['wl-flap'] });
    expect(ticket.timeline.filter((e) => e.action === 'flapping')).toHaveLength(1);
    expect(await metricValue(sw.platform.metrics.flapping, { event: 'started' })).toBe(1);

    const bytes = receiver.requests.map((r) => Buffer.byteLength(r.body));
    expect(receiver.requests.length).toBeGreaterThan(0);
    expect(receiver.requests.length).toBeLessThan(20);
    expect(Math.max(...bytes)).toBeLessThan(MAX_TICKET_MESSAGE_BYTES);
    expect(receiver.requests.every((r) => r.signatureValid)).toBe(true);
    expect([...receiver.processed.values()].every((n) => n === 1)).toBe(true);
    expect(sse.events.filter((e) => e.data.ticket.id === first.id).length).toBeLessThan(20);
    expect(feedMessages.length).toBeLessThan(20);
    expect(feedMessages.every((m) => m.json.ticket.href === `/api/tickets/${first.id}`)).toBe(true);
    sse.close();
    await feed.endAsync();
  });
});
