/**
 * The operator role over real sockets: an operator's flows runtime connects with the operator
 * token, reads the readings, events and ticket feeds and the city, and raises alerts that
 * become tickets like any rule's; a bad alert is answered with a coded error on its errors topic.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_SCHOOL = { lat: 23.115, lon: 113.315 };
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('operator MQTT role', () => {
  let sw: TestPlatform;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await sw?.stop();
  });

  const operator = async (clientId = 'operator:flows:t1', password = sw.platform.operatorToken!): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(sw.mqttUrl, { clientId, username: clientId.split(':').slice(0, 2).join(':'), password, reconnectPeriod: 0, connectTimeout: 5_000 });
    clients.push(c);
    return c;
  };

  it('authenticates operators with the operator token only', async () => {
    const refused = (password: string, clientId = 'operator:flows'): Promise<string> =>
      operator(clientId, password).then(
        () => 'connected',
        (err: Error & { code?: number }) => `refused ${err.code}`,
      );
    expect(await refused('swo_wrong-token-0123456789')).toBe('refused 4');
    expect(await refused(sw.platform.adminToken)).toBe('refused 4');
    expect(await refused(await sw.unitToken('north'))).toBe('refused 4');
    expect(await refused(sw.platform.operatorToken!, 'operator:flows:desk-2')).toBe('connected');
  });

  it('grants the feeds, the city and its own errors topic, and nothing else', async () => {
    const client = await operator();
    const granted = async (filter: string): Promise<number | undefined> =>
      client.subscribeAsync(filter, { qos: 1 }).then(
        (g) => g[0]?.qos,
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0],
      );
    for (const filter of ['v1/operators/readings/#', 'v1/operators/events/+/+', 'v1/operators/tickets/north', 'v1/operators/city', 'v1/operators/errors/flows']) {
      expect(await granted(filter), filter).toBe(1);
    }
    for (const filter of ['#', 'v1/operators/#', 'v1/operators/alerts/flows', 'v1/operators/errors/other', 'v1/devices/+/telemetry', 'v1/subcenters/north/tickets']) {
      expect(await granted(filter), filter).toBe(128);
    }
  });

  it('sends the city as a retained message, without webhooks or secrets', async () => {
    const client = await operator('operator:flows:city');
    const got = await collect(client, 'v1/operators/city');
    const city = await waitFor(() => got[0]?.json, 'the city');
    expect(city.zones.map((z: { id: string }) => z.id)).toEqual(['north-tunnel', 'south-school']);
    expect(city.subcenters.map((s: { id: string }) => s.id)).toEqual(['north', 'south']);
    expect(city.categories.map((c: { id: string }) => c.id)).toEqual(['flooding', 'fire']);
  });

  it('feeds normalized readings and camera events, placed in zones and jurisdictions', async () => {
    const client = await operator('operator:flows:feed');
    const readings = await collect(client, 'v1/operators/readings/water_level/wl-o1');
    const events = await collect(client, 'v1/operators/events/crowd/cam-o1');
    const wl = await sw.connect('wl-o1', await sw.provision('wl-o1', IN_TUNNEL, 'water_level'));
    const cam = await sw.connect('cam-o1', await sw.provision('cam-o1', IN_SCHOOL, 'camera'));
    await wl.publishAsync('v1/devices/wl-o1/telemetry', JSON.stringify({ values: { water_level: 0.12 } }), { qos: 1 });
    await cam.publishAsync('v1/devices/cam-o1/events', JSON.stringify({ type: 'crowd', count: 40 }), { qos: 1 });
    const reading = await waitFor(() => readings[0]?.json, 'the reading on the feed');
    expect(reading).toMatchObject({ deviceId: 'wl-o1', metric: 'water_level', value: 0.12, unit: 'm', zoneIds: ['north-tunnel'], subcenterId: 'north' });
    const event = await waitFor(() => events[0]?.json, 'the camera event on the feed');
    expect(event).toMatchObject({ deviceId: 'cam-o1', type: 'crowd', count: 40, zoneIds: ['south-school'], subcenterId: 'south' });
  });

  it("turns an operator's alert into a ticket like any rule's, and its resolution onto the ticket", async () => {
    const client = await operator('operator:flows:alerts');
    const tickets = await collect(client, 'v1/operators/tickets/south');
    await sw.provision('nz-o1', IN_SCHOOL, 'noise');
    const startsAt = Date.now() - 60_000;
    const alert = { ruleId: 'school-noise-night', deviceId: 'nz-o1', metric: 'noise', value: 72, threshold: 55, grade: 'C', category: 'fire', zoneId: 'south-school', startsAt, summary: '夜间学校噪声 72 dBA' };
    await client.publishAsync('v1/operators/alerts/flows', JSON.stringify(alert), { qos: 1 });
    // A repeat (a reconnecting flow sends it again) is the same alert: still one firing on one ticket.
    await client.publishAsync('v1/operators/alerts/flows', JSON.stringify(alert), { qos: 1 });

    const created = await waitFor(() => tickets.find((m) => m.json.event === 'ticket.created')?.json, 'the ticket on the operator feed');
    expect(created.ticket).toMatchObject({ subcenterId: 'south', department: 'fire-rescue', category: 'fire', zoneId: 'south-school', grade: 'C', ruleId: 'school-noise-night', alertCount: 1 });
    const { body: ticket } = await sw.api('GET', `/api/tickets/${created.ticket.id}`);
    expect(ticket.timeline[0]).toMatchObject({ action: 'created', note: '夜间学校噪声 72 dBA' });

    await client.publishAsync('v1/operators/alerts/flows', JSON.stringify({ ...alert, status: 'resolved', value: 41 }), { qos: 1 });
    const resolved = await waitFor(async () => {
      const { body } = await sw.api('GET', `/api/tickets/${created.ticket.id}`);
      return body.alerts[0].status === 'resolved' ? body : undefined;
    }, 'the resolution on the ticket');
    expect(resolved).toMatchObject({ alertCount: 1, alerts: [{ fingerprint: 'operator:flows/school-noise-night/nz-o1', status: 'resolved' }] });
  });

  it('answers a bad alert on the errors topic with a code and the alert ref, and keeps the connection', async () => {
    const client = await operator('operator:flows:errors');
    const errors = await collect(client, 'v1/operators/errors/flows');
    await sw.provision('nz-o2', IN_SCHOOL, 'noise');
    const good = { ruleId: 'r1', deviceId: 'nz-o2', metric: 'noise', value: 70, grade: 'C', category: 'fire' };
    await client.publishAsync('v1/operators/alerts/flows', 'not json', { qos: 1 });
    await client.publishAsync('v1/operators/alerts/flows', JSON.stringify({ ...good, grade: 'Z', ref: 'm-1' }), { qos: 1 });
    await client.publishAsync('v1/operators/alerts/flows', JSON.stringify({ ...good, deviceId: 'ghost', ref: 'm-2' }), { qos: 1 });
    await client.publishAsync('v1/operators/alerts/flows', JSON.stringify({ ...good, zoneId: 'atlantis', ref: 'm-3' }), { qos: 1 });
    await client.publishAsync('v1/devices/nz-o2/telemetry', JSON.stringify({ values: { noise: 99 } }), { qos: 1 });
    await client.publishAsync('v1/operators/alerts/other', JSON.stringify(good), { qos: 1 });

    await waitFor(() => errors.length >= 6 || undefined, 'six errors');
    expect(errors.map((e) => e.json)).toEqual([
      { code: 'SW_ERR_PAYLOAD_JSON', message: expect.any(String), topic: 'v1/operators/alerts/flows' },
      { code: 'SW_ERR_PAYLOAD_SCHEMA', message: expect.stringContaining('grade'), topic: 'v1/operators/alerts/flows', ref: 'm-1' },
      { code: 'SW_ERR_DEVICE_UNKNOWN', message: 'device ghost is not provisioned', topic: 'v1/operators/alerts/flows', ref: 'm-2' },
      { code: 'SW_ERR_REFERENCE_UNKNOWN', message: 'zone "atlantis" is not in the city configuration', topic: 'v1/operators/alerts/flows', ref: 'm-3' },
      { code: 'SW_ERR_TOPIC_FORBIDDEN', message: expect.any(String), topic: 'v1/devices/nz-o2/telemetry' },
      { code: 'SW_ERR_TOPIC_FORBIDDEN', message: expect.any(String), topic: 'v1/operators/alerts/other' },
    ]);
    expect(client.connected).toBe(true);
    await sw.settled();
    expect(await sw.platform.series.query({ deviceId: 'nz-o2', from: 0, to: Date.now() + 60_000 })).toHaveLength(0);
    const { body } = await sw.api('GET', '/api/tickets');
    expect(body.tickets.filter((t: { devices: string[] }) => t.devices.includes('nz-o2'))).toHaveLength(0);
  });
});
