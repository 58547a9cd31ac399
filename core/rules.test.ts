import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRules } from './city.js';

const zones = [{ id: 'school-1' }, { id: 'tunnel-1' }];
const base = '    grade: B\n    category: fire\n    department: fire-rescue\n';

function rulesFile(yaml: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sw-rules-')), 'rules.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}
const load = (yaml: string) => loadRules(rulesFile(yaml), zones);

describe('rules.yaml kinds', () => {
  it('reads a rule without a kind as a threshold rule, as before kinds existed', () => {
    const [rule] = load(`rules:\n  - id: r1\n    metric: smoke\n    above: 10\n${base}`);
    expect(rule).toEqual({ id: 'r1', kind: 'threshold', metric: 'smoke', above: 10, for: 0, consecutive: 1, grade: 'B', category: 'fire', department: 'fire-rescue' });
  });

  it('names the line of an unknown kind', () => {
    expect(() => load(`rules:\n  - id: r1\n    kind: magic\n${base}`)).toThrow(/rules\.yaml: rules\[0\]\.kind \(line 3\): .*threshold.*composite/);
  });

  it('refuses keys that belong to another kind', () => {
    expect(() => load(`rules:\n  - id: r1\n    kind: deadman\n    after: 10m\n    above: 3\n`)).toThrow(/rules\[0\].*Unrecognized key: "above"/);
  });

  it('checks rate rules: a direction, a window, hysteresis within the bound', () => {
    const ok = load(`rules:\n  - id: r1\n    kind: rate\n    metric: water_level\n    rise: 0.05\n    clearRise: 0.02\n    within: 10m\n${base}`);
    expect(ok[0]).toMatchObject({ kind: 'rate', rise: 0.05, clearRise: 0.02, within: 600_000 });
    expect(() => load(`rules:\n  - id: r1\n    kind: rate\n    metric: water_level\n    within: 10m\n${base}`)).toThrow(/rules\[0\]\.rise.*needs "rise" or "fall"/);
    expect(() => load(`rules:\n  - id: r1\n    kind: rate\n    metric: water_level\n    rise: 0.05\n    clearRise: 0.1\n    within: 10m\n${base}`)).toThrow(/rules\[0\]\.clearRise/);
    expect(() => load(`rules:\n  - id: r1\n    kind: rate\n    metric: water_level\n    rise: 0.05\n    within: 0s\n${base}`)).toThrow(/rules\[0\]\.within \(line 6\): must be longer than 0/);
  });

  it('gives deadman rules grade D and category device-fault by default, the department coming from the category', () => {
    const [rule] = load(`rules:\n  - id: offline\n    kind: deadman\n    after: 15m\n`);
    expect(rule).toMatchObject({ kind: 'deadman', after: 900_000, per: 'device', grade: 'D', category: 'device-fault' });
    expect(rule!.department).toBeUndefined();
  });

  it('needs a department from the rule or from its category in city.yaml', () => {
    const categories = new Map([['device-fault', { id: 'device-fault', name: '设备离线', department: 'city-management' }]]);
    const file = rulesFile(`rules:\n  - id: offline\n    kind: deadman\n    after: 15m\n  - id: noisy\n    metric: noise\n    above: 80\n    grade: D\n    category: noise\n`);
    expect(() => loadRules(file, zones, categories)).toThrow(/rules\.yaml: rules\[1\] \(line 5\): names no department, and city\.yaml gives none for category "noise"/);
    expect(loadRules(file, zones)).toHaveLength(2);
  });

  it('reads camera rules with their defaults', () => {
    const [rule] = load(`rules:\n  - id: fire-cam\n    kind: camera\n    types: [fire, smoke]\n    minScore: 0.7\n${base}`);
    expect(rule).toMatchObject({ kind: 'camera', types: ['fire', 'smoke'], minScore: 0.7, for: 0, clearAfter: 300_000 });
    expect(() => load(`rules:\n  - id: c\n    kind: camera\n    types: [fire]\n    minScore: 1.5\n${base}`)).toThrow(/rules\[0\]\.minScore \(line 5\)/);
  });

  it('checks each composite condition like a threshold', () => {
    const yaml = (cond2: string) =>
      `rules:\n  - id: fire\n    kind: composite\n    within: 2m\n    conditions:\n      - { metric: smoke, above: 10 }\n      - ${cond2}\n${base}`;
    expect(load(yaml('{ metric: temperature, above: 57, devices: 2 }'))[0]).toMatchObject({ match: 'all', conditions: [{ devices: 1 }, { devices: 2 }] });
    expect(() => load(yaml('{ metric: temperature }'))).toThrow(/rules\[0\]\.conditions\[1\]\.above \(line 7\): a threshold needs "above" or "below"/);
  });

  it('checks an override merged over its rule, and its zone ids', () => {
    const rule = (override: string) => `rules:\n  - id: r1\n    metric: water_level\n    above: 0.3\n    clearBelow: 0.2\n    overrides:\n      - ${override}\n${base}`;
    expect(load(rule('{ zones: { ids: [school-1] }, above: 0.2, grade: A }'))[0]).toMatchObject({ overrides: [{ zones: { ids: ['school-1'] }, above: 0.2, grade: 'A' }] });
    // The inherited clearBelow (0.2) would exceed the overridden above (0.1).
    expect(() => load(rule('{ zones: { ids: [school-1] }, above: 0.1 }'))).toThrow(/rules\[0\]\.overrides\[0\]\.clearBelow.*must not exceed/);
    expect(() => load(rule('{ zones: { ids: [nowhere] }, above: 0.5 }'))).toThrow(/rules\[0\]\.overrides\[0\]\.zones\.ids\[0\] \(line 7\): unknown zone "nowhere"/);
    expect(() => load(rule('{ above: 0.5 }'))).toThrow(/rules\[0\]\.overrides\[0\]\.zones/);
  });

  it('refuses duplicate rule ids', () => {
    expect(() => load(`rules:\n  - id: r1\n    kind: deadman\n    after: 1m\n  - id: r1\n    kind: deadman\n    after: 2m\n`)).toThrow(/rules\[1\]\.id \(line 5\): duplicate rule id "r1"/);
  });
});
