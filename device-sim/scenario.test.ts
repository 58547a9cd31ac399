import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCity } from '../core/city.js';
import { DEFAULT_CITY_DIR, REPO_ROOT } from '../core/config.js';
import { tempDir } from '../test/support/harness.js';
import { mixedFleet, planFleet } from './fleet.js';
import { MODELS } from './models.js';
import { seededRandom } from './random.js';
import { loadScenario, resolveTimeline, type Scenario } from './scenario.js';

const city = loadCity(DEFAULT_CITY_DIR);
const SCENARIOS = path.join(REPO_ROOT, 'device-sim', 'scenarios');
const START = Date.UTC(2026, 10, 20, 10, 0, 0);

function resolve(scenario: Scenario, devices = 20) {
  const fleet = planFleet(city, scenario.fleet ?? mixedFleet(devices), 'sim', seededRandom(scenario.seed ?? 1));
  return { fleet, incidents: resolveTimeline(scenario, fleet, city, { start: START, prefix: 'sim', intervalMs: (d) => MODELS[d.kind].intervalMs }) };
}

function scenarioFile(yaml: string): string {
  const file = path.join(tempDir('scenario'), 'scenario.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

describe('scenario files', () => {
  it.each(fs.readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml')))('%s loads against the demo city', (file) => {
    const scenario = loadScenario(path.join(SCENARIOS, file));
    expect(scenario.durationMs).toBeGreaterThan(0);
    const { fleet, incidents } = resolve(scenario);
    expect(fleet.length).toBeGreaterThan(0);
    for (const id of incidents.keys()) expect(fleet.some((d) => d.id === id)).toBe(true);
  });

  it('places the rainstorm fleet where it says, and aims each incident at the right devices', () => {
    const scenario = loadScenario(path.join(SCENARIOS, 'tianhe-rainstorm.yaml'));
    const { fleet, incidents } = resolve(scenario);
    expect(fleet.filter((d) => d.kind === 'water_level').map((d) => d.id)).toEqual(['sim-wl-0001', 'sim-wl-0002', 'sim-wl-0003', 'sim-wl-0004', 'sim-wl-0005', 'sim-wl-0006', 'sim-wl-0007', 'sim-wl-0008', 'sim-wl-0009']);
    for (const d of fleet.slice(0, 4)) expect(d.zoneIds).toContain('liede-tunnel');
    expect(incidents.get('sim-gas-0001')).toEqual([{ type: 'gas_leak', start: START + 12 * 60_000, end: START + 22 * 60_000, peak: 40 }]);
    // The heavy storm over Liede and the light rain everywhere both fall on the tunnel.
    expect(incidents.get('sim-wl-0001')!.map((i) => [i.type, i.peak])).toEqual([['rainstorm', 90], ['rainstorm', 15]]);
    // Smoke detectors do not feel rain.
    expect(incidents.get('sim-smoke-0006')).toBeUndefined();
    expect(incidents.get('sim-wl-0005')!.at(-1)).toEqual({ type: 'fault', start: START + 30 * 60_000, end: START + 31 * 60_000, mode: 'spike' });
  });

  it('names the path and the line of a bad value', () => {
    const file = scenarioFile('name: x\nduration: 10m\ntimeline:\n  - { at: +1m, type: rainstorm }\n  - { at: soon, type: fire, zones: [liede-village] }\n');
    expect(() => loadScenario(file)).toThrow(/timeline\[1\]\.at \(line 5\): "soon" is not a duration/);
    expect(() => loadScenario(scenarioFile('name: x\nduration: 10m\ntimeline:\n  - { at: 1m, type: flood }\n'))).toThrow(/timeline\[0\]\.type \(line 4\)/);
    expect(() => loadScenario(scenarioFile('name: x\nduration: 10m\nspeed: 3\n'))).toThrow(/Unrecognized key/);
    expect(() => loadScenario(scenarioFile('name: x\nduration: 10m\ntimeline:\n  - { at: 1m, for: 5m, type: dropout, devices: [a], devices: [b] }\n'))).toThrow(/line 4/);
    expect(() => loadScenario('/nonexistent/scenario.yaml')).toThrow(/cannot be read \(ENOENT\)/);
  });

  it.each([
    ['an unknown zone', { type: 'fire', at: 0, zones: ['atlantis'] }, /unknown zone "atlantis"/],
    ['an unknown device', { type: 'gas_leak', at: 0, devices: ['gas-0099'], peak: 45 }, /no device "gas-0099"/],
    ['a device the incident cannot reach', { type: 'gas_leak', at: 0, devices: ['wl-0001'], peak: 45 }, /does not reach sim-wl-0001, a water_level device/],
    ['a fire without a place', { type: 'fire', at: 0 }, /a fire needs devices, zones or subcenters/],
    ['a place without a matching device', { type: 'manhole_open', at: 0, zones: ['yuancun-gas-station'] }, /no device in the fleet is reached/],
    ['a start after the end', { type: 'rainstorm', at: 11 * 60_000, peak: 60 }, /after the scenario ends/],
  ])('refuses %s in the timeline', (_name, event, message) => {
    const scenario: Scenario = { name: 't', durationMs: 10 * 60_000, background: { dropout: 0, faults: 0 }, timeline: [event as Scenario['timeline'][number]] };
    expect(() => resolve(scenario)).toThrow(message);
  });
});
