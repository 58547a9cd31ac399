/**
 * What a device says about itself, believed only as far as its provisioning allows, over real
 * MQTT against the demo city: where it is (a fixed device cannot open tickets elsewhere), when it
 * measured (no alert resolved from the future, no history rewritten), and how many metric names
 * it may invent. The state behind the time and metric checks survives a restart.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CITY_DIR } from '../../core/config.js';
import type { Subscription } from '../../core/ports.js';
import type { Alert, CameraEvent, Ticket } from '../../core/schemas.js';
import { collect, startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

/** Points inside the sub-centers of the demo city (Tianhe). */
const LIEDE = { lat: 23.113, lon: 113.323 };
const ELSEWHERE = {
  linhe: { lat: 23.146, lon: 113.323 },
  'tianhe-south': { lat: 23.131, lon: 113.323 },
  shipai: { lat: 23.137, lon: 113.343 },
  xiancun: { lat: 23.113, lon: 113.343 },
  tangxia: { lat: 23.146, lon: 113.363 },
};

describe('trust in what a device says', () => {
  let sw: TestPlatform;
  const dataDir = tempDir('trust');
  const alerts: Alert[] = [];
  const events: CameraEvent[] = [];
  let taps: Subscription[] = [];

  const start = async (): Promise<void> => {
    sw = await startTestPlatform({ cityDir: DEFAULT_CITY_DIR, dataDir });
    taps = [
      await sw.platform.bus.subscribe('sw.alerts', 'test-alerts-tap', async (records) => void alerts.push(...records.map((r) => r.value))),
      await sw.platform.bus.subscribe('sw.events', 'test-events-tap', async (records) => void events.push(...records.map((r) => r.value))),
    ];
  };
  const stop = async (): Promise<void> => {
    for (const t of taps) await t.close();
    await sw?.stop();
  };
  beforeAll(start);
  afterAll(stop);

  async function device(id: string, body: Record<string, unknown> = {}): Promise<{ client: MqttClient; errors: { json: { code: string; message: string } }[] }> {
    const res = await sw.api('POST', '/api/devices', { id, kind: 'sensor', location: LIEDE, ...body });
    if (res.status !== 201) throw new Error(`provisioning ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    const client = await sw.connect(id, res.body.secret as string);
    return { client, errors: await collect(client, `v1/devices/${id}/errors`) };
  }
  const publish = (c: MqttClient, id: string, payload: unknown, topic = 'telemetry') => c.publishAsync(`v1/devices/${id}/${topic}`, JSON.stringify(payload), { qos: 1 });
  const ticketsOf = async (id: string): Promise<Ticket[]> => (await sw.platform.state.tickets.list({ limit: 1000 })).filter((t) => t.devices.includes(id));
  const stored = (id: string) => sw.platform.series.query({ deviceId: id, from: 0, to: Date.now() + 3_600_000 });

  it('places a fixed device where it was provisioned: smoke stated in five other sub-centers opens tickets only in Liede', async () => {
    expect(sw.platform.city.place(LIEDE).subcenterId).toBe('liede');
    for (const [unit, at] of Object.entries(ELSEWHERE)) expect(sw.platform.city.place(at).subcenterId).toBe(unit);
    const { client, errors } = await device('liede-smoke-1');
    const t0 = Date.now() - 60_000;
    let i = 0;
    for (const at of Object.values(ELSEWHERE)) await publish(client, 'liede-smoke-1', { ts: t0 + i++ * 1000, values: { smoke: 40 }, loc: at });

    await waitFor(async () => (await ticketsOf('liede-smoke-1')).length > 0 || undefined, 'a ticket');
    await waitFor(() => errors.length >= 5 || undefined, 'five refusals of the location');
    expect(errors.map((e) => e.json.code)).toEqual(Array(5).fill('SW_ERR_LOC_FIXED'));
    const tickets = await ticketsOf('liede-smoke-1');
    expect(tickets.map((t) => t.subcenterId)).toEqual(tickets.map(() => 'liede'));
    expect(tickets.map((t) => t.location)).toEqual(tickets.map(() => LIEDE));
    // Every reading is stored, at the provisioned place.
    expect((await stored('liede-smoke-1')).map((r) => [r.value, r.loc, r.subcenterId])).toEqual(Array(5).fill([40, LIEDE, 'liede']));
  });

  it('places a fixed camera where it was provisioned too', async () => {
    const { client, errors } = await device('liede-cam-1', { kind: 'camera' });
    await publish(client, 'liede-cam-1', { type: 'fire', score: 0.95, id: 'cam-evt-1', loc: ELSEWHERE.shipai }, 'events');
    await waitFor(() => events.find((e) => e.id === 'cam-evt-1'), 'the camera event');
    expect(events.find((e) => e.id === 'cam-evt-1')).toMatchObject({ loc: LIEDE, subcenterId: 'liede' });
    await waitFor(() => errors.length >= 1 || undefined, 'the refusal of the location');
    expect(errors.map((e) => e.json.code)).toEqual(['SW_ERR_LOC_FIXED']);
  });

  it('follows a device provisioned as mobile, and refuses a jump beyond the speed limit', async () => {
    const { client, errors } = await device('patrol-1', { mobile: true });
    const t0 = Date.now() - 120_000;
    // 1.9 km in a minute: 114 km/h, believed.
    await publish(client, 'patrol-1', { ts: t0, values: { noise: 60 }, loc: LIEDE });
    await publish(client, 'patrol-1', { ts: t0 + 60_000, values: { noise: 61 }, loc: ELSEWHERE.xiancun });
    // 3.7 km in one second: not believed; the reading stays at the last trusted position.
    await publish(client, 'patrol-1', { ts: t0 + 61_000, values: { noise: 62 }, loc: ELSEWHERE.tangxia });
    await waitFor(() => errors.length >= 1 || undefined, 'the refusal of the jump');
    expect(errors.map((e) => e.json.code)).toEqual(['SW_ERR_LOC_IMPLAUSIBLE']);
    expect((await stored('patrol-1')).map((r) => [r.value, r.subcenterId])).toEqual([
      [60, 'liede'],
      [61, 'xiancun'],
      [62, 'xiancun'],
    ]);
    expect((await sw.api('GET', '/api/devices/patrol-1')).body).toMatchObject({ mobile: true });
  });

  it('moves a reading dated ahead of its arrival back to it: it cannot resolve an alert from the future and hide the next alarms', async () => {
    const { client } = await device('liede-smoke-2');
    const firing = (n: number) => waitFor(() => alerts.filter((a) => a.deviceId === 'liede-smoke-2' && a.status === 'firing').length >= n || undefined, `firing #${n}`);
    await publish(client, 'liede-smoke-2', { values: { smoke: 30 } });
    await firing(1);
    // Five minutes ahead (the skew allowed): normal. It resolves the alert now, not five minutes from now.
    await publish(client, 'liede-smoke-2', { ts: Date.now() + 300_000, values: { smoke: 1 } });
    await waitFor(() => alerts.find((a) => a.deviceId === 'liede-smoke-2' && a.status === 'resolved'), 'the resolution');
    // The next real alarm, a second later, is heard.
    await new Promise((r) => setTimeout(r, 5));
    await publish(client, 'liede-smoke-2', { values: { smoke: 35 } });
    await firing(2);
    const readings = await stored('liede-smoke-2');
    expect(readings.map((r) => r.value)).toEqual([30, 1, 35]);
    for (const r of readings) expect(r.ts).toBeLessThanOrEqual(r.receivedAt);
  });

  it('refuses readings back-dated before what the device already said, and readings older than the age limit', async () => {
    const { client, errors } = await device('liede-gas-1');
    await publish(client, 'liede-gas-1', { values: { gas_lel: 2 } });
    const now = Date.now();
    // Ten minutes of leak "from the past", well over the gas-leak rule's 30 s, in one publish.
    await publish(client, 'liede-gas-1', Array.from({ length: 5 }, (_, i) => ({ ts: now - 600_000 + i * 60_000, values: { gas_lel: 40 } })));
    // Readings of 2001 from a device that never spoke before.
    const fresh = await device('liede-gas-2');
    await publish(fresh.client, 'liede-gas-2', [{ ts: '2001-01-01T00:00:00Z', values: { gas_lel: 40 } }, { ts: '2001-01-01T00:10:00Z', values: { gas_lel: 40 } }]);
    await waitFor(() => errors.length >= 5 && fresh.errors.length >= 2 || undefined, 'the refusals');
    expect(errors.map((e) => e.json.code)).toEqual(Array(5).fill('SW_ERR_TS_STALE'));
    expect(fresh.errors.map((e) => e.json.code)).toEqual(['SW_ERR_TS_RANGE', 'SW_ERR_TS_RANGE']);
    expect((await stored('liede-gas-1')).map((r) => r.value)).toEqual([2]);
    expect(await stored('liede-gas-2')).toEqual([]);
    expect(alerts.filter((a) => a.deviceId === 'liede-gas-1' || a.deviceId === 'liede-gas-2')).toEqual([]);
  });

  it('caps the distinct metric names of a device, and still does after a restart, as it still refuses the past', async () => {
    const { client, errors } = await device('names-1');
    const names = Array.from({ length: 70 }, (_, i) => `random_${i.toString(36)}_x`);
    await publish(client, 'names-1', { values: Object.fromEntries(names.map((n) => [n, 1])) });
    await waitFor(() => errors.length >= 6 || undefined, 'the refusals of six names');
    expect(errors.map((e) => e.json.code)).toEqual(Array(6).fill('SW_ERR_METRIC_LIMIT'));
    expect((await stored('names-1')).length).toBe(64);
    const lastAt = Math.max(...(await stored('names-1')).map((r) => r.ts));

    await stop();
    await start();
    const again = await sw.connect('names-1', (await sw.api('POST', '/api/devices/names-1/rotate-secret')).body.secret as string);
    const after = await collect(again, 'v1/devices/names-1/errors');
    await publish(again, 'names-1', { values: { random_new_y: 1, [names[0]!]: 2 } });
    await publish(again, 'names-1', { ts: lastAt - 120_000, values: { [names[1]!]: 3 } });
    await waitFor(() => after.length >= 2 || undefined, 'the refusals after the restart');
    expect(after.map((e) => e.json.code)).toEqual(['SW_ERR_METRIC_LIMIT', 'SW_ERR_TS_STALE']);
    expect((await sw.api('GET', '/api/devices/names-1')).body.metrics).toHaveLength(64);
  });
});
