/**
 * `npm run flows` against a running platform: Node-RED embedded with the StreetWatch nodes and
 * the example flows, its editor behind the admin credentials. Devices publish over MQTT; the
 * example flows' alerts come back as tickets for the responsible sub-center.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CITY_DIR } from '../../core/config.js';
import { loadFlowsConfig } from '../../flows/embedded/config.js';
import { startFlows, type FlowsRuntime } from '../../flows/embedded/server.js';
import { startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

const PLATFORM_NODE = '5f1c0a7e2d9b4c11';
const RAIN_FLAG_NODE = 'a3e1f0c2b4d5e605';
const PASSWORD = 'correct-horse-battery';
/** Inside 天河中学 (a school zone) and 天河立交隧道 (an underpass tagged flood), both in 林和街道. */
const AT_SCHOOL = { lat: 23.15, lon: 113.326 };
const AT_UNDERPASS = { lat: 23.145, lon: 113.325 };
const MIN = 60_000;

describe('Node-RED embedded with the example flows', () => {
  let sw: TestPlatform;
  let flows: FlowsRuntime;
  let editor: string;
  beforeAll(async () => {
    sw = await startTestPlatform({ cityDir: DEFAULT_CITY_DIR });
    flows = await startFlows(
      loadFlowsConfig({
        STREETWATCH_MQTT_URL: sw.mqttUrl,
        STREETWATCH_OPERATOR_TOKEN: sw.platform.operatorToken,
        STREETWATCH_FLOWS_HOST: '127.0.0.1',
        STREETWATCH_FLOWS_PORT: '0',
        STREETWATCH_FLOWS_DIR: tempDir('node-red'),
        STREETWATCH_FLOWS_PASSWORD: PASSWORD,
        LOG_LEVEL: process.env.SW_TEST_LOG ?? 'silent',
      }),
    );
    editor = `http://127.0.0.1:${flows.port}`;
    // Connected with the city: every subscription of the flows is then in place.
    await waitFor(() => {
      const p = flows.red.nodes.getNode(PLATFORM_NODE) as { connectionStatus(): string; outline(): unknown } | null;
      return p?.connectionStatus() === 'connected' && p.outline() !== undefined;
    }, 'the flows connected to the platform');
  });
  afterAll(async () => {
    await flows?.stop();
    await sw?.stop();
  });

  const login = async (password: string): Promise<Response> =>
    fetch(`${editor}/auth/token`, { method: 'POST', body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password }) });

  it('keeps the editor behind the admin credentials, with the StreetWatch nodes, their examples, and both example flows deployed', async () => {
    expect((await fetch(`${editor}/flows`)).status).toBe(401);
    expect((await login('wrong-password')).status).toBe(403);
    const res = await login(PASSWORD);
    expect(res.status).toBe(200);
    const auth = { authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}` };

    const deployed = (await (await fetch(`${editor}/flows`, { headers: auth })).json()) as { type: string; label?: string }[];
    expect(deployed.filter((n) => n.type === 'tab').map((n) => n.label)).toEqual(['Flood alert: rain + water level', 'School noise at night']);
    const nodes = (await (await fetch(`${editor}/nodes`, { headers: { ...auth, accept: 'application/json' } })).json()) as { module: string; types: string[]; err?: string }[];
    const ours = nodes.filter((n) => n.module === '@streetwatch/node-red-contrib-streetwatch');
    expect(ours.flatMap((n) => n.types).sort()).toEqual([
      'streetwatch-alert',
      'streetwatch-camera-events',
      'streetwatch-geofence',
      'streetwatch-platform',
      'streetwatch-readings',
      'streetwatch-threshold',
      'streetwatch-ticket-events',
    ]);
    expect(ours.filter((n) => n.err)).toEqual([]);
    // And they are offered under Import → Examples, as after a palette install.
    const examples = await (await fetch(`${editor}/library/examples/flows/@streetwatch/node-red-contrib-streetwatch/`, { headers: auth })).json();
    expect(examples).toEqual([{ fn: 'Flood alert - rainfall and water level' }, { fn: 'School noise at night' }]);
  });

  it('turns noise at night near a school into a grade C ticket for the environment department', async () => {
    const device = await sw.connect('nz-e1', await sw.provision('nz-e1', AT_SCHOOL, 'noise'));
    // 23:00 in Beijing (15:00 UTC) last night: the flow judges readings by when they were measured.
    const night = new Date();
    night.setUTCHours(15, 0, 0, 0);
    if (night.getTime() > Date.now()) night.setUTCDate(night.getUTCDate() - 1);
    for (const [minute, noise] of [[0, 61], [3, 63], [6, 66]] as const) {
      await device.publishAsync('v1/devices/nz-e1/telemetry', JSON.stringify({ ts: night.getTime() + minute * MIN, values: { noise } }), { qos: 1 });
    }
    const ticket = await waitFor(async () => (await sw.api('GET', '/api/tickets?subcenter=linhe')).body.tickets.find((t: { ruleId: string }) => t.ruleId === 'school-noise-night'), 'the noise ticket');
    expect(ticket).toMatchObject({
      subcenterId: 'linhe',
      grade: 'C',
      category: 'noise',
      department: 'environment',
      zoneId: 'tianhe-middle-school',
      title: '噪声扰民 · 天河中学',
      status: 'dispatched',
      devices: ['nz-e1'],
      alerts: [{ fingerprint: 'operator:flows/school-noise-night/nz-e1', status: 'firing', value: 66, firstSeen: night.getTime() }],
    });
    expect(ticket.timeline[0]).toMatchObject({ action: 'created', note: '学校周边夜间噪声超标 (noise at night near a school)' });
  });

  it('turns a water level rising during heavy rain in an underpass into a flood ticket, raised to A by the zone', async () => {
    const rain = await sw.connect('rg-e1', await sw.provision('rg-e1', AT_UNDERPASS, 'rain_gauge'));
    const water = await sw.connect('wl-e1', await sw.provision('wl-e1', AT_UNDERPASS, 'water_level'));
    const t0 = Date.now() - 30 * MIN;
    const level = (minute: number) => water.publishAsync('v1/devices/wl-e1/telemetry', JSON.stringify({ ts: t0 + minute * MIN, values: { water_level: 0.2 } }), { qos: 1 });
    // Below the city's own underpass rule (0.3 m), and before any rain: not a flood risk yet.
    await level(0);
    await level(2);
    for (const minute of [3, 13]) {
      await rain.publishAsync('v1/devices/rg-e1/telemetry', JSON.stringify({ ts: t0 + minute * MIN, values: { rainfall: 25 } }), { qos: 1 });
    }
    await waitFor(() => (flows.red.nodes.getNode(RAIN_FLAG_NODE)?.context().flow.get('heavyRain') as Record<string, boolean> | undefined)?.linhe, 'heavy rain in 林和街道');
    await level(14);
    await level(15);

    const ticket = await waitFor(async () => (await sw.api('GET', '/api/tickets?subcenter=linhe')).body.tickets.find((t: { ruleId: string }) => t.ruleId === 'rain-flood-risk'), 'the flood ticket');
    expect(ticket).toMatchObject({
      subcenterId: 'linhe',
      baseGrade: 'B',
      grade: 'A',
      category: 'flooding',
      // Tianhe's flood plan (预案): the emergency office leads an A flood, water affairs co-handles.
      department: 'emergency-management',
      coHandlers: expect.arrayContaining([expect.objectContaining({ department: 'water-affairs', status: 'summoned' })]),
      zoneId: 'tianhe-interchange-underpass',
      devices: ['wl-e1'],
      // The breach counts from the first reading during the rain, not from the dry ones before it.
      alerts: [{ fingerprint: 'operator:flows/rain-flood-risk/wl-e1', status: 'firing', value: 0.2, firstSeen: t0 + 14 * MIN }],
    });
  });
});
