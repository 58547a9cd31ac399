/**
 * The MQTT ticket feed over real sockets: a sub-center connects with its own credentials (one
 * of its API tokens), may subscribe to its own tickets topic only, and receives its tickets'
 * events there; the district center receives the escalations addressed to it.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import { collect, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const T0 = Date.UTC(2026, 5, 1);

describe('sub-center MQTT ticket feed', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    sw = await startTestPlatform({ clock });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await sw?.stop();
  });

  const feed = async (clientId: string, password: string, username = clientId.split(':').slice(0, 2).join(':')): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(sw.mqttUrl, { clientId, username, password, reconnectPeriod: 0, connectTimeout: 5_000 });
    clients.push(c);
    return c;
  };
  const refused = (clientId: string, username: string, password: string): Promise<string> =>
    mqtt.connectAsync(sw.mqttUrl, { clientId, username, password, reconnectPeriod: 0, connectTimeout: 5_000 }).then(
      (c) => {
        void c.endAsync(true);
        return 'connected';
      },
      (err: Error & { code?: number }) => `refused ${err.code}`,
    );

  it('authenticates a feed client with its unit\'s token only', async () => {
    const north = await sw.unitToken('north');
    const south = await sw.unitToken('south');
    expect(await refused('subcenter:north', 'subcenter:north', 'swu_wrong')).toBe('refused 4');
    expect(await refused('subcenter:north', 'subcenter:north', south)).toBe('refused 4');
    expect(await refused('subcenter:north', 'subcenter:south', north)).toBe('refused 4');
    expect(await refused('subcenter:north', 'subcenter:north', sw.platform.adminToken)).toBe('refused 4');
    // A display token of the unit reads its wall view only, not its feed.
    const wall = (await sw.api('POST', '/api/tokens', { unit: 'north', kind: 'display' })).body.token as string;
    expect(await refused('subcenter:north', 'subcenter:north', wall)).toBe('refused 4');
    expect(await refused('subcenter:north:desk-1', 'subcenter:north', north)).toBe('connected');
    const { id, token: spare } = (await sw.api('POST', '/api/tokens', { unit: 'north', label: 'spare' })).body;
    expect((await sw.api('DELETE', `/api/tokens/${id}`)).status).toBe(204);
    expect(await refused('subcenter:north', 'subcenter:north', spare)).toBe('refused 4');
  });

  it('lets it subscribe to its own tickets topic only, delivers its ticket events there, and drops its publishes', async () => {
    const client = await feed('subcenter:north', await sw.unitToken('north'));
    const granted = await client.subscribeAsync(['v1/subcenters/south/tickets', 'v1/subcenters/+/tickets', '#', 'v1/devices/wl-f1/errors']).then(
      (g) => g.map((s) => s.qos),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
    );
    expect(granted).toEqual([128, 128, 128, 128]);
    const got = await collect(client, 'v1/subcenters/north/tickets');

    const device = await sw.connect('wl-f1', await sw.provision('wl-f1', IN_TUNNEL, 'water_level'));
    await device.publishAsync('v1/devices/wl-f1/telemetry', JSON.stringify({ values: { water_level: 0.8 } }), { qos: 1 });
    const created = await waitFor(() => got.find((m) => m.json.event === 'ticket.created'), 'the ticket on the feed');
    expect(created.json).toMatchObject({ event: 'ticket.created', to: 'north', ticket: { subcenterId: 'north', category: 'flooding', status: 'dispatched' } });

    await client.publishAsync('v1/subcenters/north/tickets', '{"forged":true}', { qos: 1 });
    await client.publishAsync('v1/devices/wl-f1/telemetry', JSON.stringify({ values: { water_level: 9 } }), { qos: 1 });
    expect(client.connected).toBe(true);
    expect(got.some((m) => m.json.forged)).toBe(false);
    await sw.settled();
    expect(await sw.platform.series.query({ deviceId: 'wl-f1', from: 0, to: T0 + 86_400_000 })).toHaveLength(1);
  });

  it('brings an escalation to the district center\'s feed, with its supervision order', async () => {
    const district = await feed('subcenter:test-district', await sw.unitToken('test-district'));
    const got = await collect(district, 'v1/subcenters/test-district/tickets');
    clock.advance(31 * 60_000);
    expect(await sw.platform.timers!.runOnce()).toBe(1);
    const overdue = await waitFor(() => got.find((m) => m.json.event === 'ticket.overdue'), 'the escalation on the district feed');
    expect(overdue.json).toMatchObject({ to: 'test-district', ticket: { subcenterId: 'north', red: true }, supervisionOrder: { issuedTo: 'test-district', reason: 'response_overdue' } });
  });
});
