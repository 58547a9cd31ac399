/**
 * The simulator against the real embedded platform: the same scenario and seed give the same
 * tickets.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CITY_DIR, REPO_ROOT } from '../../core/config.js';
import { loadCity } from '../../core/city.js';
import type { Ticket } from '../../core/schemas.js';
import { runSimulation, type SimulationResult } from '../../device-sim/runner.js';
import { loadScenario } from '../../device-sim/scenario.js';
import { startTestPlatform, type TestPlatform } from '../support/harness.js';

const city = loadCity(DEFAULT_CITY_DIR);
const scenario = loadScenario(path.join(REPO_ROOT, 'device-sim', 'scenarios', 'tianhe-rainstorm.yaml'));
/** Both runs simulate the same stretch of the recent past. */
const START = Math.floor((Date.now() - 3 * 3_600_000) / 60_000) * 60_000;

function simulate(sw: TestPlatform): Promise<SimulationResult> {
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
  });
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

describe('simulator with a scenario', () => {
  const platforms: TestPlatform[] = [];
  let first: SimulationResult;
  let original: TestPlatform;

  beforeAll(async () => {
    original = await startTestPlatform({ cityDir: DEFAULT_CITY_DIR });
    platforms.push(original);
    first = await simulate(original);
  });
  afterAll(async () => {
    for (const p of platforms) await p.stop();
  });

  it('runs the scenario: every publish acknowledged, the two faulty reports refused, tickets where the incidents were', async () => {
    expect(first).toMatchObject({ devices: 29, failed: 0, rejected: 2 });
    expect(first.acked).toBe(first.sent);
    expect(first.lastErrors.map((e) => e.split(' ')[0]).sort()).toEqual(['sim-smoke-0005:', 'sim-wl-0005:']);
    const tickets = projectTickets((await original.api('GET', '/api/tickets')).body.tickets);
    const where = tickets.map((t) => `${t.ruleId}@${t.zoneId}`);
    expect(where).toEqual(expect.arrayContaining(['underpass-flooding@liede-tunnel', 'gas-leak-hazmat@yuancun-gas-station', 'smoke-detected@liede-village', 'manhole-open@chebei-creek-bank']));
    // The light rain elsewhere floods nothing: the interchange underpass stays under its threshold.
    expect(where).not.toContain('underpass-flooding@tianhe-interchange-underpass');
    const devices = (await original.api('GET', '/api/devices')).body.devices as { id: string; status: string; lastSeen: number }[];
    expect(devices).toHaveLength(29);
    expect(devices.every((d) => d.status === 'offline' && d.lastSeen > 0)).toBe(true);
  });

  it('gives the same tickets for the same scenario and seed', async () => {
    const again = await startTestPlatform({ cityDir: DEFAULT_CITY_DIR });
    platforms.push(again);
    const second = await simulate(again);
    expect(second.sent).toBe(first.sent);
    const [a, b] = await Promise.all([original, again].map(async (p) => projectTickets((await p.api('GET', '/api/tickets')).body.tickets)));
    expect(a!.length).toBeGreaterThan(3);
    expect(b).toEqual(a);
  });
});
