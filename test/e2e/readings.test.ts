/**
 * The readings and console-configuration routes over real sockets: readings published by a
 * device over MQTT come back per metric for charts; the console learns the city and thresholds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('readings API', () => {
  let sw: TestPlatform;
  const t0 = Date.now() - 60_000;

  beforeAll(async () => {
    sw = await startTestPlatform();
    const secret = await sw.provision('wl-chart', IN_TUNNEL, 'water_level');
    const device = await sw.connect('wl-chart', secret);
    await device.publishAsync(
      'v1/devices/wl-chart/telemetry',
      JSON.stringify([
        { ts: t0, values: { water_level: 0.1, battery_v: 3.6 } },
        { ts: t0 + 1000, values: { water_level: 0.2 } },
        { ts: t0 + 2000, values: { water_level: 0.35 } },
      ]),
      { qos: 1 },
    );
  });
  afterAll(async () => {
    await sw?.stop();
  });

  const readings = (query: string, token?: string) => sw.api('GET', `/api/devices/wl-chart/readings${query}`, undefined, token);

  it('returns one series per metric, oldest first, with units and the thresholds that apply there', async () => {
    const res = await waitFor(async () => {
      const r = await readings(`?from=${t0}&to=${t0 + 60_000}`);
      return r.body.series?.length === 2 ? r : undefined;
    }, 'the stored readings');
    expect(res.status).toBe(200);
    // With where the device is, for the ticket page's map.
    expect(res.body).toMatchObject({ deviceId: 'wl-chart', location: IN_TUNNEL, from: t0, to: t0 + 60_000, truncated: false });
    expect(res.body.series).toEqual(
      expect.arrayContaining([
        { metric: 'water_level', unit: 'm', points: [[t0, 0.1], [t0 + 1000, 0.2], [t0 + 2000, 0.35]] },
        { metric: 'battery_v', unit: 'V', points: [[t0, 3.6]] },
      ]),
    );
    // In the tunnel: the underpass rule applies, and the rule that applies everywhere.
    expect(res.body.thresholds).toEqual([
      { ruleId: 'tunnel-flooding', name: '隧道积水', metric: 'water_level', above: 0.3, below: null, clearBelow: 0.2, clearAbove: null, zoneId: 'north-tunnel' },
      { ruleId: 'smoke', name: '烟雾', metric: 'smoke', above: 10, below: null, clearBelow: 10, clearAbove: null, zoneId: 'north-tunnel' },
    ]);
  });

  it('filters by metric, takes RFC 3339 times, and says when the limit cut the answer', async () => {
    const from = new Date(t0 + 500).toISOString();
    const res = await readings(`?metric=water_level&from=${encodeURIComponent(from)}&to=${t0 + 60_000}&limit=1`);
    expect(res.status).toBe(200);
    expect(res.body.truncated).toBe(true);
    expect(res.body.series).toEqual([{ metric: 'water_level', unit: 'm', points: [[t0 + 1000, 0.2]] }]);
    expect(res.body.thresholds.map((t: { ruleId: string }) => t.ruleId)).toEqual(['tunnel-flooding']);
    // Without a window: the last day up to now.
    const recent = await readings('?metric=water_level');
    expect(recent.body.series[0].points).toHaveLength(3);
    expect(recent.body.to - recent.body.from).toBe(24 * 3_600_000);
  });

  it('answers bad queries, unknown devices and missing tokens with coded errors', async () => {
    expect(await readings(`?from=${t0 + 10}&to=${t0}`)).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID', message: expect.stringContaining('query.from') } } });
    expect(await readings('?metric=Water-Level')).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
    expect(await readings('?from=yesterday')).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
    expect(await readings('?device=other')).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
    expect(await sw.api('GET', '/api/devices/ghost/readings')).toMatchObject({ status: 404, body: { error: { code: 'SW_ERR_NOT_FOUND' } } });
    expect(await readings('', 'not-the-token')).toMatchObject({ status: 401, body: { error: { code: 'SW_ERR_UNAUTHORIZED' } } });
  });

  it('lets a unit read the devices of its jurisdiction and those it supervises, and no other', async () => {
    const token = async (unit: string): Promise<string> => (await sw.api('POST', '/api/tokens', { unit })).body.token;
    const [north, south, district] = await Promise.all([token('north'), token('south'), token('test-district')]);
    expect((await readings('?metric=water_level', north)).status).toBe(200);
    expect((await readings('?metric=water_level', district)).status).toBe(200);
    expect(await readings('?metric=water_level', south)).toMatchObject({ status: 404, body: { error: { code: 'SW_ERR_NOT_FOUND' } } });
    // A device outside every jurisdiction belongs to the district center's fallback tickets.
    await sw.provision('far-away', { lat: 0.5, lon: 0.5 }, 'smoke');
    expect((await sw.api('GET', '/api/devices/far-away/readings', undefined, district)).status).toBe(200);
    expect((await sw.api('GET', '/api/devices/far-away/readings', undefined, north)).status).toBe(404);
    expect((await sw.api('GET', '/api/console/config', undefined, south)).body.principal).toEqual({ role: 'unit', unitId: 'south', level: 'subcenter' });
  });

  it('tells the console who is signed in, the city and the deadlines', async () => {
    expect(JSON.stringify((await sw.api('GET', '/api/console/config')).body)).not.toMatch(/webhook|secret/);
    const res = await sw.api('GET', '/api/console/config');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      city: { name: 'Test city', district: { id: 'test-district', name: '测试区指挥中心' } },
      departments: { 'water-affairs': '水务', 'fire-rescue': '消防救援', 'city-management': '城市管理' },
      categories: { flooding: '内涝积水', fire: '火情烟雾' },
      principal: { role: 'admin' },
      // No basemap in the city and no STREETWATCH_MAP_TILES: the offline schematic.
      map: null,
      sla: { B: { respondWithin: 30 * 60_000 } },
    });
    expect((await sw.api('GET', '/api/console/config', undefined, 'nope')).status).toBe(401);
  });
});
