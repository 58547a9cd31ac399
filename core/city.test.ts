import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CITY_DIR } from './config.js';
import { loadCity } from './city.js';

function cityWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-city-'));
  for (const f of fs.readdirSync(DEFAULT_CITY_DIR)) fs.copyFileSync(path.join(DEFAULT_CITY_DIR, f), path.join(dir, f));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('loadCity', () => {
  it('loads the demo city: Tianhe with its sub-centers, zones, rules and deadlines', () => {
    const city = loadCity(DEFAULT_CITY_DIR);
    expect(city.subcenters.length).toBeGreaterThanOrEqual(5);
    expect(city.zones.length).toBeGreaterThanOrEqual(15);
    for (const metric of ['water_level', 'smoke', 'gas_lel', 'manhole_open']) expect(city.rules.some((r) => 'metric' in r && r.metric === metric)).toBe(true);
    expect(city.sla.grades.A.respondWithin).toBe(15 * 60_000);
    expect(city.rules.find((r) => r.id === 'underpass-flooding')).toMatchObject({ kind: 'threshold', for: 60_000 });
  });

  it('loads departments, categories, the grading table and the merge policy', () => {
    const city = loadCity(DEFAULT_CITY_DIR);
    expect(city.categories.get('flooding')).toMatchObject({ name: '内涝积水', department: 'water-affairs' });
    expect(city.departments.get('water-affairs')?.name).toBe('水务');
    expect(city.sla.grading.zoneRisk).toEqual({ high: 1, medium: 0, low: 0 });
    expect(city.sla.grades.B.holdFor).toBe(15 * 60_000);
    expect(city.sla.merge).toEqual({ window: 30 * 60_000, radius: 200 });
    // Without the optional sections: no raise, default hold and merge policy.
    const plain = loadCity(cityWith({ 'sla.yaml': 'grades:\n' + ['A', 'B', 'C', 'D'].map((g) => `  ${g}: { respondWithin: 1h, resolveWithin: 4h, remindBefore: 10m }\n`).join('') }));
    expect(plain.sla.grading).toEqual({ zoneRisk: { high: 0, medium: 0, low: 0 }, aggregation: [], maxRaise: 3 });
    expect(plain.sla.grades.A.holdFor).toBe(10 * 60_000);
  });

  it('refuses a category whose department is unknown, and a district id that is also a sub-center', () => {
    const text = fs.readFileSync(path.join(DEFAULT_CITY_DIR, 'city.yaml'), 'utf8');
    expect(() => loadCity(cityWith({ 'city.yaml': text.replace('department: water-affairs,', 'department: plumbing,') }))).toThrow(/city\.yaml: categories\.flooding\.department: unknown department "plumbing"/);
    expect(() => loadCity(cityWith({ 'city.yaml': text.replace('id: tianhe-district', 'id: linhe') }))).toThrow(/district\.id: "linhe" is also a sub-center id/);
  });

  it('reads an optional base map, and names the line of a bad one', () => {
    expect(loadCity(DEFAULT_CITY_DIR).basemap).toBeUndefined();
    const text = fs.readFileSync(path.join(DEFAULT_CITY_DIR, 'city.yaml'), 'utf8');
    const basemap = 'basemap:\n  bases:\n    - id: street\n      name: 街道图\n      crs: gcj02\n      layers:\n        - { type: xyz, url: "https://tiles.example/{z}/{x}/{y}.png" }\n';
    expect(loadCity(cityWith({ 'city.yaml': text + basemap })).basemap).toMatchObject({ minZoom: 3, maxZoom: 18, bases: [{ id: 'street', crs: 'gcj02', layers: [{ type: 'xyz', opacity: 1 }] }] });
    const lines = text.split('\n').length;
    expect(() => loadCity(cityWith({ 'city.yaml': text + basemap.replace('crs: gcj02', 'crs: bd09') }))).toThrow(new RegExp(`city\\.yaml: basemap\\.bases\\[0\\]\\.crs \\(line ${lines + 4}\\)`));
  });

  it('names file, path and line of a bad YAML value', () => {
    const dir = cityWith({ 'rules.yaml': 'rules:\n  - id: r1\n    metric: smoke\n    above: high\n    grade: B\n    category: fire\n    department: fire-rescue\n' });
    expect(() => loadCity(dir)).toThrow(/rules\.yaml: rules\[0\]\.above \(line 4\): .*expected number/);
  });

  it('refuses a rule without a bound, an unknown zone and a bad duration', () => {
    const base = '    grade: B\n    category: fire\n    department: fire-rescue\n';
    expect(() => loadCity(cityWith({ 'rules.yaml': `rules:\n  - id: r1\n    metric: smoke\n${base}` }))).toThrow(/rules\[0\]\.above.*needs "above" or "below"/);
    expect(() => loadCity(cityWith({ 'rules.yaml': `rules:\n  - id: r1\n    metric: smoke\n    above: 1\n    zones: { ids: [nowhere] }\n${base}` }))).toThrow(/rules\[0\]\.zones\.ids\[0\] \(line 5\): unknown zone "nowhere"/);
    expect(() => loadCity(cityWith({ 'rules.yaml': `rules:\n  - id: r1\n    metric: smoke\n    above: 1\n    for: soon\n${base}` }))).toThrow(/rules\[0\]\.for.*"soon" is not a duration/);
  });

  it('names the feature of a bad GeoJSON value, and requires a secret with a webhook', () => {
    const zones = JSON.parse(fs.readFileSync(path.join(DEFAULT_CITY_DIR, 'zones.geojson'), 'utf8'));
    zones.features[3].properties.risk = 'extreme';
    expect(() => loadCity(cityWith({ 'zones.geojson': JSON.stringify(zones) }))).toThrow(/zones\.geojson: features\[3\]\.properties\.risk/);
    const subs = JSON.parse(fs.readFileSync(path.join(DEFAULT_CITY_DIR, 'subcenters.geojson'), 'utf8'));
    subs.features[0].properties.webhook = 'https://example.test/hook';
    expect(() => loadCity(cityWith({ 'subcenters.geojson': JSON.stringify(subs) }))).toThrow(/features\[0\]\.properties\.secret: .*signed/);
  });

  it('refuses a missing file and invalid JSON', () => {
    const dir = cityWith({ 'sla.yaml': 'grades: [' });
    expect(() => loadCity(dir)).toThrow(/sla\.yaml: line 1/);
    fs.rmSync(path.join(dir, 'zones.geojson'));
    expect(() => loadCity(dir)).toThrow(/zones\.geojson: cannot be read \(ENOENT\)/);
  });

  it('loads response plans, communities and grids, and the governance policy', () => {
    const city = loadCity(DEFAULT_CITY_DIR);
    const flood = city.responsePlans.get('flooding')!;
    expect(flood.lead).toBe('water-affairs');
    expect(flood.grades.A).toMatchObject({ lead: 'emergency-management', coHandlers: [{ department: 'water-affairs', checkInWithin: 30 * 60_000 }, { department: 'traffic-police' }, { department: 'city-management' }] });
    expect(flood.checklist.map((s) => s.id)).toEqual(['close-road', 'pump', 'evacuate', 'reopen']);
    expect(city.communities.find((c) => c.id === 'liede-community')).toMatchObject({ level: 'community', subcenter: 'liede', name: '猎德社区' });
    expect(city.grids.find((g) => g.id === 'liede-grid-1')).toMatchObject({ level: 'grid', subcenter: 'liede', community: 'liede-community' });
    expect(city.sla.governance).toEqual({ returns: { maxPerTicket: 2 }, extensions: { maxPerTicket: 2, maxDelay: 3 * 86_400_000 }, reports: { grade: 'C', confirmWithin: 72 * 3_600_000 } });
  });

  it('refuses a plan naming an unknown department or making the lead co-handle, and misplaced or clashing units', () => {
    const text = fs.readFileSync(path.join(DEFAULT_CITY_DIR, 'city.yaml'), 'utf8');
    const edit = (from: string, to: string) => () => loadCity(cityWith({ 'city.yaml': text.replace(from, to) }));
    expect(edit('- { department: traffic-police, checkInWithin: 30m }', '- { department: navy, checkInWithin: 30m }')).toThrow(/responsePlans\.flooding\.grades\.A\.coHandlers\[1\]\.department: unknown department "navy"/);
    expect(edit('- { department: traffic-police, checkInWithin: 30m }', '- { department: emergency-management, checkInWithin: 30m }')).toThrow(/leads at grade A, it cannot also co-handle/);
    expect(edit('- { department: traffic-police, checkInWithin: 1h }', '- { department: traffic-police, checkInWithin: soon }')).toThrow(/responsePlans\.flooding\.grades\.B\.coHandlers\[0\]\.checkInWithin/);
    expect(edit('subcenter: liede\n    area', 'subcenter: shipai\n    area')).toThrow(/communities\.liede-community\.area: the point 113\.315, 23\.115 lies outside sub-center "shipai"/);
    expect(edit('community: liede-community', 'community: nowhere')).toThrow(/grids\.liede-grid-1\.community: unknown community "nowhere"/);
    expect(edit('  nanyi-community:\n', '  liede:\n')).toThrow(/communities\.liede: "liede" is already the id of a unit/);
    expect(edit('  traffic-police: { name: 公安交警 }', '  traffic-police: { name: 公安交警 }\n  linhe: { name: 林和 }')).toThrow(/departments\.linhe: "linhe" is also the id of a unit/);
  });
});
