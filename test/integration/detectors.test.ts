/**
 * The rule kinds through the real embedded pipeline: devices publish over MQTT (mqtt.js on a
 * real socket), ingest places and stores, the detectors decide, alerting opens tickets that
 * the API returns. Also: editing the city's rules while it runs, and a restart in the middle of
 * a pending duration.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { Ticket } from '../../core/schemas.js';
import { FIXTURE_CITY, startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SCHOOL = { lat: 23.115, lon: 113.315 };
const OUTSIDE_ZONES = { lat: 23.125, lon: 113.335 };

const RULES = `
rules:
  - id: tunnel-flooding
    name: 隧道积水
    metric: water_level
    above: 0.3
    clearBelow: 0.2
    zones: { kind: underpass }
    grade: B
    category: flooding
    department: water-affairs
  - id: tunnel-rising
    name: 隧道水位快速上涨
    kind: rate
    metric: water_level
    rise: 0.1
    within: 5m
    zones: { kind: underpass }
    grade: C
    category: flooding
    department: water-affairs
  - id: smoke-held
    name: 烟雾持续
    metric: smoke
    above: 10
    for: 30s
    grade: C
    category: fire
    department: fire-rescue
  - id: school-fire
    name: 学校火情（烟感+温感）
    kind: composite
    match: all
    within: 2m
    conditions:
      - { metric: smoke, above: 10 }
      - { metric: temperature, above: 57 }
    zones: { kind: school }
    grade: A
    category: fire
    department: fire-rescue
  - id: noise-sensor-offline
    name: 噪声传感器离线
    kind: deadman
    metric: noise
    after: 1s
  - id: school-crowd
    name: 校门人群聚集
    kind: camera
    types: [crowd]
    minCount: 100
    zones: { kind: school }
    grade: C
    category: crowd
    department: public-security
`;

function cityWithRules(rules: string): string {
  const dir = tempDir('city');
  for (const f of fs.readdirSync(FIXTURE_CITY)) fs.copyFileSync(path.join(FIXTURE_CITY, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'rules.yaml'), rules);
  // The deadman rule names no department: the device-fault category's applies.
  fs.appendFileSync(path.join(dir, 'city.yaml'), '  device-fault: { name: 设备离线, department: city-management }\n');
  return dir;
}

describe('detectors through the pipeline', () => {
  let sw: TestPlatform;
  let cityDir: string;

  beforeAll(async () => {
    cityDir = cityWithRules(RULES);
    sw = await startTestPlatform({ cityDir });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  const ticketsOf = async (ruleId: string): Promise<Ticket[]> => ((await sw.api('GET', '/api/tickets')).body.tickets as Ticket[]).filter((t) => t.ruleId === ruleId);
  const ticketFor = (ruleId: string, pred: (t: Ticket) => boolean = () => true): Promise<Ticket> =>
    waitFor(async () => (await ticketsOf(ruleId)).find(pred), `a ticket for ${ruleId}`);
  const device = async (id: string, loc: { lat: number; lon: number }, kind = 'sensor'): Promise<MqttClient> => sw.connect(id, await sw.provision(id, loc, kind));
  const telemetry = (c: MqttClient, id: string, body: unknown) => c.publishAsync(`v1/devices/${id}/telemetry`, JSON.stringify(body), { qos: 1 });

  it('rate of change: a tunnel level rising fast opens a ticket before the level itself is alarming', async () => {
    const wl = await device('wl-rise', IN_TUNNEL, 'water_level');
    const t0 = Date.now() - 3 * 60_000;
    await telemetry(wl, 'wl-rise', [
      { ts: t0, values: { water_level: 0.08 } },
      { ts: t0 + 60_000, values: { water_level: 0.12 } },
      { ts: t0 + 120_000, values: { water_level: 0.22 } },
    ]);
    const ticket = await ticketFor('tunnel-rising');
    expect(ticket).toMatchObject({ grade: 'C', zoneId: 'north-tunnel', subcenterId: 'north', category: 'flooding' });
    expect(ticket.alerts).toMatchObject([{ deviceId: 'wl-rise', metric: 'water_level', value: 0.22, firstSeen: t0 + 120_000 }]);
    expect(await ticketsOf('tunnel-flooding')).toEqual([]);
  });

  it('composite: smoke from one device and heat from another in the same school make one grade A ticket', async () => {
    const smoke = await device('school-smoke', IN_SCHOOL, 'smoke');
    const heat = await device('school-heat', IN_SCHOOL, 'temperature');
    const t0 = Date.now() - 60_000;
    await telemetry(smoke, 'school-smoke', { ts: t0, values: { smoke: 14 } });
    await telemetry(heat, 'school-heat', { ts: t0 + 20_000, values: { temperature: 63 } });
    const ticket = await ticketFor('school-fire');
    expect(ticket).toMatchObject({ grade: 'A', zoneId: 'south-school', subcenterId: 'south', department: 'fire-rescue' });
    expect(ticket.alerts).toHaveLength(1);
    expect(ticket.alerts[0]).toMatchObject({ fingerprint: 'school-fire/zone:south-school', deviceId: 'school-heat' });
    // More readings keep the composite one alert. The smoke detector's own rule (smoke held
    // 30 s) now fires too: same kind of problem in the same zone, so the same ticket.
    await telemetry(heat, 'school-heat', { ts: t0 + 40_000, values: { temperature: 70 } });
    await telemetry(smoke, 'school-smoke', { ts: t0 + 41_000, values: { smoke: 20 } });
    const merged = await waitFor(async () => {
      const t = (await sw.api('GET', `/api/tickets/${ticket.id}`)).body as Ticket;
      return t.alerts.length === 2 ? t : undefined;
    }, 'the smoke alert merged');
    expect(merged.alerts.map((a) => a.fingerprint).sort()).toEqual(['school-fire/zone:south-school', 'smoke-held/school-smoke']);
    expect(await ticketsOf('school-fire')).toHaveLength(1);
    expect(await ticketsOf('smoke-held')).toEqual([]);
  });

  it('deadman: a sensor that goes quiet opens a grade D device-fault ticket, and its return resolves the alert', async () => {
    const noise = await device('noise-1', OUTSIDE_ZONES, 'noise');
    await telemetry(noise, 'noise-1', { values: { noise: 55 } });
    const ticket = await ticketFor('noise-sensor-offline', (t) => t.alerts.some((a) => a.deviceId === 'noise-1'));
    expect(ticket).toMatchObject({ grade: 'D', category: 'device-fault', department: 'city-management', zoneId: null, subcenterId: 'south' });
    await telemetry(noise, 'noise-1', { values: { noise: 56 } });
    const resolved = await waitFor(async () => {
      const t = (await sw.api('GET', `/api/tickets/${ticket.id}`)).body as Ticket;
      return t.alerts.find((a) => a.deviceId === 'noise-1')?.status === 'resolved' ? t : undefined;
    }, 'the alert resolved on the ticket');
    expect(resolved.timeline.at(-1)).toMatchObject({ action: 'alert_resolved', actor: 'sensor:noise-1' });
  });

  it('camera: a crowd count over the limit at the school gate opens a ticket; smaller counts do not', async () => {
    const cam = await device('cam-gate', IN_SCHOOL, 'camera');
    await cam.publishAsync('v1/devices/cam-gate/events', JSON.stringify({ type: 'crowd', count: 40 }), { qos: 1 });
    await cam.publishAsync('v1/devices/cam-gate/events', JSON.stringify({ type: 'person', count: 400 }), { qos: 1 });
    expect(await ticketsOf('school-crowd')).toEqual([]);
    await cam.publishAsync('v1/devices/cam-gate/events', JSON.stringify({ type: 'crowd', count: 180, score: 0.93 }), { qos: 1 });
    const ticket = await ticketFor('school-crowd');
    expect(ticket).toMatchObject({ grade: 'C', zoneId: 'south-school', subcenterId: 'south', department: 'public-security' });
    expect(ticket.alerts).toMatchObject([{ deviceId: 'cam-gate', metric: 'crowd', value: 0.93 }]);
  });

  it('applies an edited rules file while running, and keeps the rules in force when an edit is invalid', async () => {
    const pm = await device('pm-1', OUTSIDE_ZONES, 'pm25');
    const withPm = `${RULES}  - { id: pm25-high, metric: pm25, above: 150, grade: C, category: air-quality, department: environment }\n`;
    fs.writeFileSync(path.join(cityDir, 'rules.yaml'), withPm);
    await waitFor(() => sw.platform.city.city.rules.some((r) => r.id === 'pm25-high') || undefined, 'the reload');
    await telemetry(pm, 'pm-1', { values: { pm25: 180 } });
    expect((await ticketFor('pm25-high')).alerts).toMatchObject([{ deviceId: 'pm-1', value: 180 }]);

    const inForce = sw.platform.city;
    fs.writeFileSync(path.join(cityDir, 'rules.yaml'), withPm.replace('above: 150', 'above: lots'));
    // Give the watcher its chance to (wrongly) apply it, then check nothing changed.
    await new Promise((r) => setTimeout(r, 600));
    expect(sw.platform.city).toBe(inForce);
    const pm2 = await device('pm-2', OUTSIDE_ZONES, 'pm25');
    await telemetry(pm2, 'pm-2', { values: { pm25: 200 } });
    await waitFor(async () => (await ticketsOf('pm25-high'))[0]?.alerts.some((a) => a.deviceId === 'pm-2') || undefined, 'the second device on the same rule');
  });
});

describe('detectors across a restart', () => {
  it('neither forgets a pending duration nor fires twice', async () => {
    const cityDir = cityWithRules(RULES);
    const dataDir = tempDir('data');
    let sw = await startTestPlatform({ cityDir, dataDir });
    try {
      const secret = await sw.provision('smoke-r', OUTSIDE_ZONES, 'smoke');
      const t0 = Date.now() - 120_000;
      let c = await sw.connect('smoke-r', secret);
      await c.publishAsync('v1/devices/smoke-r/telemetry', JSON.stringify({ ts: t0, values: { smoke: 15 } }), { qos: 1 });
      await sw.stop();

      sw = await startTestPlatform({ cityDir, dataDir });
      c = await sw.connect('smoke-r', secret);
      // 30 s after the first breach, by the device's clock: the hold is complete.
      await c.publishAsync('v1/devices/smoke-r/telemetry', JSON.stringify({ ts: t0 + 30_000, values: { smoke: 16 } }), { qos: 1 });
      const ticket = await waitFor(async () => ((await sw.api('GET', '/api/tickets')).body.tickets as Ticket[]).find((t) => t.ruleId === 'smoke-held'), 'the smoke ticket');
      expect(ticket.alerts).toMatchObject([{ deviceId: 'smoke-r', firstSeen: t0, lastSeen: t0 + 30_000 }]);
      await sw.stop();

      sw = await startTestPlatform({ cityDir, dataDir });
      c = await sw.connect('smoke-r', secret);
      await c.publishAsync('v1/devices/smoke-r/telemetry', JSON.stringify({ ts: t0 + 60_000, values: { smoke: 18 } }), { qos: 1 });
      await c.publishAsync('v1/devices/smoke-r/telemetry', JSON.stringify({ ts: t0 + 90_000, values: { smoke: 2 } }), { qos: 1 });
      const after = await waitFor(async () => {
        const t = (await sw.api('GET', `/api/tickets/${ticket.id}`)).body as Ticket;
        return t.alerts[0]?.status === 'resolved' ? t : undefined;
      }, 'the resolution');
      expect(after.alerts).toHaveLength(1);
      expect(after.timeline.filter((e) => e.action === 'alert')).toEqual([]);
    } finally {
      await sw.stop();
    }
  });
});
