/**
 * The simulator against the real embedded platform: the same scenario and seed give the same
 * tickets, and replaying the recording of a run stores exactly the readings of that run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CITY_DIR, REPO_ROOT } from '../../core/config.js';
import { loadCity } from '../../core/city.js';
import type { Reading, Ticket } from '../../core/schemas.js';
import { runReplay } from '../../device-sim/replayer.js';
import { runSimulation, type SimulationResult } from '../../device-sim/runner.js';
import { loadScenario } from '../../device-sim/scenario.js';
import { startTestPlatform, tempDir, type TestPlatform } from '../support/harness.js';

const city = loadCity(DEFAULT_CITY_DIR);
const scenario = loadScenario(path.join(REPO_ROOT, 'device-sim', 'scenarios', 'tianhe-rainstorm.yaml'));
/** Both runs simulate the same stretch of the recent past. */
const START = Math.floor((Date.now() - 3 * 3_600_000) / 60_000) * 60_000;

function simulate(sw: TestPlatform, recordTo?: string): Promise<SimulationResult> {
  return runSimulation({
    api: `http://127.0.0.1:${sw.platform.httpPort}`,
    mqtt: sw.mqttUrl,
    token: sw.platform.adminToken,
    city,
    scenario,
    seed: 7,
    speed: Infinity,
    start: START,
    prefix: 'sim',
    recordTo,
    // One publish at a time: the platform sees the fleet in simulated-time order, so rules
    // across devices (composite) meet the same interleaving on every run.
    maxInflight: 1,
  });
}

/** The tickets once the platform has handled everything the devices sent. */
async function settledTickets(sw: TestPlatform): Promise<Ticket[]> {
  await sw.settled();
  return (await sw.api('GET', '/api/tickets')).body.tickets;
}

/** What a ticket says about the city, without ids and wall-clock times. */
function projectTickets(tickets: Ticket[]) {
  return tickets
    .map((t) => ({
      ruleId: t.ruleId,
      grade: t.grade,
      category: t.category,
      department: t.department,
      subcenterId: t.subcenterId,
      zoneId: t.zoneId,
      title: t.title,
      status: t.status,
      alerts: t.alerts
        .map((a) => ({ deviceId: a.deviceId, ruleId: a.ruleId, metric: a.metric, value: a.value, status: a.status, firstSeen: a.firstSeen, lastSeen: a.lastSeen }))
        .sort((x, y) => x.deviceId.localeCompare(y.deviceId)),
    }))
    .sort((x, y) => `${x.ruleId}|${x.zoneId}`.localeCompare(`${y.ruleId}|${y.zoneId}`));
}

/** The stored readings, without what only the arrival decides (arrival time, publish id). */
async function storedReadings(sw: TestPlatform): Promise<Omit<Reading, 'receivedAt' | 'ref'>[]> {
  await sw.settled();
  const all = await sw.platform.series.query({ from: 0, to: Date.now() + 60_000, limit: 1_000_000 });
  return all.map(({ receivedAt: _r, ref: _ref, ...rest }) => rest);
}

describe('simulator with a scenario, record and replay', () => {
  const platforms: TestPlatform[] = [];
  const recording = path.join(tempDir('recording'), 'storm.jsonl');
  let first: SimulationResult;
  let original: TestPlatform;

  beforeAll(async () => {
    original = await startTestPlatform({ cityDir: DEFAULT_CITY_DIR });
    platforms.push(original);
    first = await simulate(original, recording);
  });
  afterAll(async () => {
    for (const p of platforms) await p.stop();
  });

  it('runs the scenario: every publish acknowledged, the two faulty reports refused, tickets where the incidents were', async () => {
    expect(first).toMatchObject({ devices: 29, failed: 0, rejected: 2 });
    expect(first.acked).toBe(first.sent);
    expect(first.lastErrors.map((e) => e.split(' ')[0]).sort()).toEqual(['sim-smoke-0005:', 'sim-wl-0005:']);
    const tickets = projectTickets(await settledTickets(original));
    // Tickets merge per category and zone, whichever rule blew the whistle first.
    const where = tickets.map((t) => `${t.category}@${t.zoneId}`);
    expect(where).toEqual(expect.arrayContaining(['flooding@liede-tunnel', 'gas-leak@yuancun-gas-station', 'fire@liede-village', 'manhole@chebei-creek-bank']));
    // The light rain elsewhere floods nothing: the interchange underpass stays under its threshold.
    expect(where).not.toContain('flooding@tianhe-interchange-underpass');
    const devices = (await original.api('GET', '/api/devices')).body.devices as { id: string; status: string; lastSeen: number }[];
    expect(devices).toHaveLength(29);
    expect(devices.every((d) => d.status === 'offline' && d.lastSeen > 0)).toBe(true);
  });

  it('gives the same tickets for the same scenario and seed', async () => {
    const again = await startTestPlatform({ cityDir: DEFAULT_CITY_DIR });
    platforms.push(again);
    const second = await simulate(again);
    expect(second.sent).toBe(first.sent);
    const [a, b] = await Promise.all([original, again].map(async (p) => projectTickets(await settledTickets(p))));
    expect(a!.length).toBeGreaterThan(3);
    expect(b).toEqual(a);
  });

  it('replays the recording into the same readings and the same tickets', async () => {
    const lines = fs.readFileSync(recording, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'header', format: 'streetwatch-recording', start: START, seed: 7 });
    expect(lines.filter((l) => l.type === 'device')).toHaveLength(29);
    expect(lines.filter((l) => l.type === 'publish')).toHaveLength(first.sent);

    const replayed = await startTestPlatform({ cityDir: DEFAULT_CITY_DIR });
    platforms.push(replayed);
    const r = await runReplay({ file: recording, api: `http://127.0.0.1:${replayed.platform.httpPort}`, mqtt: replayed.mqttUrl, token: replayed.platform.adminToken, speed: Infinity, maxInflight: 1 });
    expect(r).toMatchObject({ devices: 29, published: first.sent, acked: first.sent, rejected: 2, failed: 0 });

    const [want, got] = await Promise.all([storedReadings(original), storedReadings(replayed)]);
    expect(want.length).toBeGreaterThan(1000);
    expect(got).toEqual(want);
    const [a, b] = await Promise.all([original, replayed].map(async (p) => projectTickets(await settledTickets(p))));
    expect(b).toEqual(a);
  });

  it('refuses to take over existing devices unless asked', async () => {
    await expect(runReplay({ file: recording, api: `http://127.0.0.1:${original.platform.httpPort}`, mqtt: original.mqttUrl, token: original.platform.adminToken, speed: Infinity })).rejects.toThrow(
      /29 of its devices already exist .* pass --rotate-existing/,
    );
  });
});

describe('replay of a CSV file', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('stores the rows as readings of devices provisioned beforehand, rows of one time in one publish', async () => {
    await sw.provision('csv-wl-1', { lat: 23.145, lon: 113.315 }, 'water_level');
    await sw.provision('csv-sm-1', { lat: 23.115, lon: 113.335 }, 'smoke');
    const t0 = Date.now() - 3_600_000;
    const iso = new Date(t0 + 120_000).toISOString();
    const csv = path.join(tempDir('csv'), 'readings.csv');
    fs.writeFileSync(
      csv,
      [
        'ts,deviceId,metric,value',
        `${t0},csv-wl-1,water_level,0.12`,
        `${t0},csv-wl-1,rainfall,35.5`,
        `${t0},csv-sm-1,smoke,0.4`,
        `${t0 + 60_000},csv-wl-1,water_level,0.45`,
        `${iso},csv-wl-1,water_level,0.5`,
        `${t0 + 180_000},csv-wl-1,water_level,999`,
        `${t0 + 180_000},csv-sm-1,manhole_open,true`,
      ].join('\n'),
    );
    const opts = { file: csv, api: `http://127.0.0.1:${sw.platform.httpPort}`, mqtt: sw.mqttUrl, token: sw.platform.adminToken, speed: Infinity };
    await expect(runReplay(opts)).rejects.toThrow(/device csv-wl-1 is not described in the file: provision it first, then replay with --rotate-existing/);
    const r = await runReplay({ ...opts, rotateExisting: true });
    expect(r).toMatchObject({ devices: 2, published: 6, acked: 6, rejected: 1 });
    await sw.settled();
    const stored = (await sw.platform.series.query({ from: t0, to: t0 + 3_600_000 })).map((x) => [x.deviceId, x.metric, x.ts - t0, x.value]);
    expect(stored).toEqual([
      ['csv-sm-1', 'smoke', 0, 0.4],
      ['csv-wl-1', 'rainfall', 0, 35.5],
      ['csv-wl-1', 'water_level', 0, 0.12],
      ['csv-wl-1', 'water_level', 60_000, 0.45],
      ['csv-wl-1', 'water_level', 120_000, 0.5],
      ['csv-sm-1', 'manhole_open', 180_000, 1],
    ]);
    // The tunnel's water rose over the threshold: the replayed data raised a ticket.
    expect((await sw.api('GET', '/api/tickets')).body.tickets).toMatchObject([{ ruleId: 'tunnel-flooding', zoneId: 'north-tunnel' }]);
  });

  it('names the line of a bad row', async () => {
    const csv = path.join(tempDir('csv'), 'bad.csv');
    fs.writeFileSync(csv, 'ts,deviceId,metric,value\n1763712000000,x-1,smoke,1\n1763712000000,x-1,smoke,lots\n');
    await expect(runReplay({ file: csv, api: `http://127.0.0.1:${sw.platform.httpPort}`, mqtt: sw.mqttUrl, token: sw.platform.adminToken, speed: Infinity })).rejects.toThrow(/bad\.csv:3: value: "lots" is not a number/);
  });
});
