/**
 * The whole embedded pipeline over real sockets: HTTP provisioning, MQTT devices (mqtt.js),
 * a real webhook receiver, and a restart on the same data dir.
 */
import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../alerting/signature.js';
import type { Ticket } from '../../core/schemas.js';
import { cityWithWebhooks, collect, startTestPlatform, startWebhookReceiver, waitFor, type TestPlatform } from '../support/harness.js';

const NORTH_SECRET = 'north-webhook-secret-0001';
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };

describe('embedded pipeline end to end', () => {
  let sw: TestPlatform;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let cityDir: string;

  beforeAll(async () => {
    hook = await startWebhookReceiver();
    cityDir = cityWithWebhooks({ north: { url: hook.url, secret: NORTH_SECRET } });
    sw = await startTestPlatform({ cityDir });
  });
  afterAll(async () => {
    await sw?.stop();
    await hook?.close();
  });

  const tickets = async (query = ''): Promise<Ticket[]> => (await sw.api('GET', `/api/tickets${query}`)).body.tickets;

  it('turns a sensor over its threshold into a ticket for the right sub-center, signed to its webhook', async () => {
    const secret = await sw.provision('wl-tunnel-1', IN_TUNNEL, 'water_level');
    const device = await sw.connect('wl-tunnel-1', secret);
    const before = Date.now();
    await device.publishAsync('v1/devices/wl-tunnel-1/telemetry', JSON.stringify({ values: { water_level: 0.12 } }), { qos: 1 });
    await device.publishAsync('v1/devices/wl-tunnel-1/telemetry', JSON.stringify({ ts: Date.now() + 1, values: { water_level: 0.45 } }), { qos: 1 });

    const [ticket] = await waitFor(async () => {
      const list = await tickets('?subcenter=north');
      return list.length ? list : undefined;
    }, 'a ticket for north');
    expect(ticket).toMatchObject({
      grade: 'B',
      category: 'flooding',
      department: 'water-affairs',
      subcenterId: 'north',
      zoneId: 'north-tunnel',
      status: 'dispatched',
      location: IN_TUNNEL,
      routedToFallback: false,
    });
    expect(ticket!.respondBy - ticket!.createdAt).toBe(30 * 60_000);
    expect(ticket!.resolveBy - ticket!.createdAt).toBe(12 * 3_600_000);
    expect(ticket!.createdAt).toBeGreaterThanOrEqual(before);
    expect(ticket!.alerts).toMatchObject([{ deviceId: 'wl-tunnel-1', metric: 'water_level', value: 0.45, status: 'firing' }]);
    expect(await tickets('?subcenter=south')).toEqual([]);

    const delivery = await waitFor(() => hook.received.find((h) => JSON.parse(h.body).ticket.id === ticket!.id), 'the webhook POST');
    expect(delivery.headers['content-type']).toBe('application/json');
    // The key names the change and its receiver: the ticket, its version, the unit.
    expect(delivery.headers['idempotency-key']).toBe(`${ticket!.id}/v1/north`);
    expect(verifySignature(delivery.body, NORTH_SECRET, delivery.headers['x-streetwatch-signature'] as string)).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({ event: 'ticket.created', ticket: { id: ticket!.id, subcenterId: 'north' } });
    // The delivery state shows on the ticket.
    const shown = await waitFor(async () => {
      const t = (await sw.api('GET', `/api/tickets/${ticket!.id}`)).body;
      return t.delivery?.[0]?.state === 'delivered' ? t : undefined;
    }, 'the delivered state on the ticket');
    expect(shown.delivery[0]).toMatchObject({ id: delivery.headers['idempotency-key'], to: 'north', event: 'ticket.created', attempts: 1, deliveredAt: expect.any(Number) });

    // A second firing from another sensor in the same tunnel merges into the open ticket.
    const secret2 = await sw.provision('wl-tunnel-2', IN_TUNNEL, 'water_level');
    const device2 = await sw.connect('wl-tunnel-2', secret2);
    await device2.publishAsync('v1/devices/wl-tunnel-2/telemetry', JSON.stringify({ values: { water_level: 0.6 } }), { qos: 1 });
    const merged = await waitFor(async () => {
      const t = (await sw.api('GET', `/api/tickets/${ticket!.id}`)).body as Ticket;
      return t.alerts.length === 2 ? t : undefined;
    }, 'the merged alert');
    expect(merged.alerts.map((a) => a.deviceId).sort()).toEqual(['wl-tunnel-1', 'wl-tunnel-2']);
    expect(await tickets('?subcenter=north')).toHaveLength(1);

    const acked = await sw.api('POST', `/api/tickets/${ticket!.id}/ack`, { note: '已派网格员' });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'acknowledged' });
    expect(acked.body.timeline.at(-1)).toMatchObject({ action: 'acknowledged', actor: 'admin', note: '已派网格员' });
    const again = await sw.api('POST', `/api/tickets/${ticket!.id}/ack`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SW_ERR_TICKET_TRANSITION');
  });

  it('answers a malformed payload on the device errors topic, and stores the valid traffic around it', async () => {
    const secret = await sw.provision('smoke-1', IN_SOUTH, 'smoke');
    const device = await sw.connect('smoke-1', secret);
    const errors = await collect(device, 'v1/devices/smoke-1/errors');
    const t0 = Date.now() - 10_000;
    await device.publishAsync('v1/devices/smoke-1/telemetry', JSON.stringify({ ts: t0, values: { smoke: 1.5 } }), { qos: 1 });
    await device.publishAsync('v1/devices/smoke-1/telemetry', '{"values": {"smoke": ', { qos: 1 });
    await device.publishAsync('v1/devices/smoke-1/telemetry', JSON.stringify({ ts: t0 + 1, values: { smoke: 'lots' } }), { qos: 1 });
    await device.publishAsync('v1/devices/smoke-1/telemetry', JSON.stringify({ ts: t0 + 2, values: { smoke: 2.5 } }), { qos: 1 });
    await device.publishAsync('v1/devices/smoke-1/nonsense', '{}', { qos: 1 });

    await waitFor(() => errors.length >= 3 || undefined, 'three error messages');
    expect(errors.map((e) => e.json.code)).toEqual(['SW_ERR_PAYLOAD_JSON', 'SW_ERR_PAYLOAD_SCHEMA', 'SW_ERR_TOPIC_UNKNOWN']);
    expect(errors[0]!.json).toMatchObject({ topic: 'v1/devices/smoke-1/telemetry', ref: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(errors[1]!.json.message).toContain('values.smoke');

    const stored = await sw.platform.series.query({ deviceId: 'smoke-1', from: t0 - 1, to: Date.now() + 1 });
    expect(stored.map((r) => [r.ts - t0, r.value, r.subcenterId])).toEqual([
      [0, 1.5, 'south'],
      [2, 2.5, 'south'],
    ]);
    const metrics = await sw.api<string>('GET', '/metrics');
    expect(metrics.body).toMatch(/streetwatch_rejected_total\{code="SW_ERR_PAYLOAD_JSON"\} 1/);
    expect(metrics.body).toMatch(/streetwatch_rejected_total\{code="SW_ERR_TOPIC_UNKNOWN"\} 1/);
  });

  it('keeps a device out of another device topic, and out of $SYS', async () => {
    const mallory = await sw.provision('mallory', IN_SOUTH);
    await sw.provision('victim', IN_TUNNEL, 'water_level');
    const client = await sw.connect('mallory', mallory);
    const errors = await collect(client, 'v1/devices/mallory/errors');
    await client.publishAsync('v1/devices/victim/telemetry', JSON.stringify({ values: { water_level: 3 } }), { qos: 1 });
    await waitFor(() => errors.length >= 1 || undefined, 'the forbidden-topic error');
    expect(errors[0]!.json).toMatchObject({ code: 'SW_ERR_TOPIC_FORBIDDEN', topic: 'v1/devices/victim/telemetry' });
    expect(await sw.platform.series.query({ deviceId: 'victim', from: 0, to: Date.now() + 60_000 })).toEqual([]);
    // Subscriptions outside its own errors topic are refused (0x80 in the SUBACK).
    const granted = await client.subscribeAsync(['v1/devices/victim/errors', '$SYS/#', '#']).then(
      (g) => g.map((s) => s.qos),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
    );
    expect(granted).toEqual([128, 128, 128]);
    expect(client.connected).toBe(true);
  });

  it('refuses bad credentials, unknown devices and invalid client ids', async () => {
    const secret = await sw.provision('cred-1', IN_SOUTH);
    const attempt = (clientId: string, username: string, password: string) =>
      mqtt.connectAsync(sw.mqttUrl, { clientId, username, password, reconnectPeriod: 0, connectTimeout: 3000 }).then(
        (c) => {
          void c.endAsync(true);
          return 'connected';
        },
        (err: Error & { code?: number }) => `refused ${err.code}`,
      );
    expect(await attempt('cred-1', 'cred-1', 'wrong')).toBe('refused 4');
    expect(await attempt('cred-1', 'someone-else', secret)).toBe('refused 4');
    expect(await attempt('ghost', 'ghost', secret)).toBe('refused 4');
    expect(await attempt('bad/id', 'bad/id', secret)).toBe('refused 2');
    expect(await attempt('cred-1', 'cred-1', secret)).toBe('connected');
  });

  it('closes a connection that sends a packet over the size limit', async () => {
    const secret = await sw.provision('big-1', IN_SOUTH);
    const client = await sw.connect('big-1', secret);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('v1/devices/big-1/telemetry', Buffer.alloc(sw.platform.config.mqtt.maxPacketBytes + 10, 0x20), { qos: 0 });
    await closed;
    expect(client.connected).toBe(false);
  });

  it('does not crash on garbage bytes on the MQTT port', async () => {
    const socket = net.connect(Number(new URL(sw.mqttUrl).port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01]));
    await new Promise<void>((r) => socket.once('close', () => r()));
    expect((await sw.api('GET', '/healthz')).status).toBe(200);
  });

  it('answers bad API requests with coded errors', async () => {
    const bad = await sw.api('POST', '/api/devices', '{"id": "x",', undefined);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
    const wrongType = await sw.api('POST', '/api/devices', { id: 'd-1', kind: 'smoke', location: { lat: 'north', lon: 1 } });
    expect(wrongType).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID', message: expect.stringContaining('body.location.lat') } } });
    const extra = await sw.api('POST', '/api/devices', { id: 'd-1', kind: 'smoke', location: { lat: 1, lon: 1 }, admin: true });
    expect(extra.body.error.code).toBe('SW_ERR_BODY_INVALID');
    await sw.provision('dup-1', IN_SOUTH);
    const dup = await sw.api('POST', '/api/devices', { id: 'dup-1', kind: 'smoke', location: IN_SOUTH });
    expect(dup).toMatchObject({ status: 409, body: { error: { code: 'SW_ERR_DEVICE_EXISTS' } } });
    expect((await sw.api('GET', '/api/devices', undefined, 'wrong-token')).body.error.code).toBe('SW_ERR_UNAUTHORIZED');
    expect((await sw.api('GET', '/api/tickets/SW-nope')).status).toBe(404);
    expect((await sw.api('GET', '/api/nothing-here')).body.error.code).toBe('SW_ERR_NOT_FOUND');
    const huge = await sw.api('POST', '/api/devices', { id: 'd-2', kind: 'smoke', location: IN_SOUTH, pad: 'x'.repeat(70_000) });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'SW_ERR_BODY_TOO_LARGE' } } });
    const list = await sw.api('GET', '/api/devices');
    expect(JSON.stringify(list.body)).not.toContain('scrypt');
  });

  it('keeps tickets and devices across a restart on the same data dir', async () => {
    const secret = await sw.provision('survivor', IN_TUNNEL, 'water_level');
    const before = await tickets();
    expect(before.length).toBeGreaterThan(0);
    await sw.stop();
    sw = await startTestPlatform({ cityDir, dataDir: sw.dataDir });
    expect((await tickets()).map((t) => [t.id, t.status])).toEqual(before.map((t) => [t.id, t.status]));
    const device = await sw.connect('survivor', secret);
    expect(device.connected).toBe(true);
    expect((await sw.api('GET', '/api/devices/survivor')).body).toMatchObject({ id: 'survivor', kind: 'water_level' });
  });
});
