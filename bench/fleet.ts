/**
 * What the benchmarks load the platform with: a fleet of the demo city's sensors (placed in the
 * zones that suit each kind, as `npm run sim` places them), their telemetry, "hazard" smoke
 * sensors that trip an alarm on demand, the city copy whose sub-centers have webhooks, and
 * provisioning straight into the state store (one scrypt hash for the whole fleet, so 10 000
 * devices take a second, not a minute of hashing).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { generateSecret, hashSecret } from '../core/secret-hash.js';
import { loadCity, type City } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import { DEFAULT_CITY_DIR } from '../core/config.js';
import { provisionedDevice, type Location } from '../core/schemas.js';
import { SqliteStateStore } from '../core/store/sqlite/state.js';
import { planFleet } from '../device-sim/fleet.js';
import { CALM } from '../device-sim/incidents.js';
import { MODELS, type DeviceKind } from '../device-sim/models.js';
import { seededRandom } from '../device-sim/random.js';

/** Sensor kinds: each publish is one telemetry object of two to four readings. */
export const SENSOR_KINDS: readonly DeviceKind[] = ['water_level', 'smoke', 'gas', 'manhole', 'air', 'weather'];
/** Distinct telemetry samples kept per device; the timestamp is set when a sample is sent. */
const SAMPLES_PER_DEVICE = 16;
/** Hazard sensors stand at least this far apart, beyond the demo city's 200 m merge radius. */
const HAZARD_SPACING_M = 450;
/** Smoke (%obs/m) well above and well below the demo city's smoke-detected rule (above 10, clear at 5). */
export const HAZARD_SMOKE = { alarm: 42.5, clear: 0.4 } as const;

export interface BenchDevice {
  id: string;
  kind: DeviceKind;
  location: Location;
  zoneKind: string | undefined;
  zoneTags: readonly string[];
}

export function benchCity(): City {
  return loadCity(DEFAULT_CITY_DIR);
}

/** `count` sensors cycling through the kinds, placed in the demo city; the same seed, the same fleet. */
export function sensorFleet(city: City, count: number, prefix = 'bench', seed = 1): BenchDevice[] {
  const specs = SENSOR_KINDS.map((kind, i) => ({ kind, count: Math.floor(count / SENSOR_KINDS.length) + (i < count % SENSOR_KINDS.length ? 1 : 0) })).filter((s) => s.count > 0);
  return planFleet(city, specs, prefix, seededRandom(seed)).map((d) => ({ id: d.id, kind: d.kind, location: d.location, zoneKind: d.zoneKind, zoneTags: d.zoneTags }));
}

/**
 * Smoke sensors outside every risk zone, inside a jurisdiction, on a grid wider than the merge
 * radius: each one's alarm opens a ticket of its own, and its later alarms update that ticket,
 * so every alarm or all-clear is exactly one webhook.
 */
export function hazardFleet(city: City, count: number, prefix = 'hazard'): BenchDevice[] {
  const index = new CityIndex(city);
  let minLat = Infinity;
  let minLon = Infinity;
  let maxLat = -Infinity;
  let maxLon = -Infinity;
  for (const s of city.subcenters) {
    const polygons = s.geometry.type === 'Polygon' ? [s.geometry.coordinates] : s.geometry.coordinates;
    for (const [lon, lat] of polygons.flatMap((p) => p[0]!)) {
      minLat = Math.min(minLat, lat!);
      maxLat = Math.max(maxLat, lat!);
      minLon = Math.min(minLon, lon!);
      maxLon = Math.max(maxLon, lon!);
    }
  }
  const dLat = HAZARD_SPACING_M / 111_320;
  const dLon = HAZARD_SPACING_M / (111_320 * Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180));
  const out: BenchDevice[] = [];
  for (let lat = minLat + dLat / 2; lat < maxLat && out.length < count; lat += dLat) {
    for (let lon = minLon + dLon / 2; lon < maxLon && out.length < count; lon += dLon) {
      const location = { lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)) };
      const place = index.place(location);
      if (place.zoneIds.length > 0 || place.subcenterId === undefined) continue;
      out.push({ id: `${prefix}-${String(out.length + 1).padStart(4, '0')}`, kind: 'smoke', location, zoneKind: undefined, zoneTags: [] });
    }
  }
  if (out.length < count) throw new Error(`only ${out.length} places for hazard sensors outside the zones, ${count} asked`);
  return out;
}

/**
 * Telemetry of each device as the simulator's models make it in calm weather, prepared ahead so
 * that sending costs the load generator a string concatenation. Weather stations speak SenML, as
 * they do in the simulator: a pack of their latest sample on their `senml` topic (one sample, so
 * that every reading is at the send time the latency probes measure from).
 */
export class TelemetrySource {
  /** Each sample as the text before and after its timestamp. */
  private readonly samples: [string, string][][];
  /** Readings in each sample (metrics per telemetry object). */
  private readonly readings: number[][];
  /** `telemetry` or `senml`: the topic's last level. */
  readonly channels: ('telemetry' | 'senml')[];
  private readonly cursor: Uint32Array;

  constructor(devices: readonly Pick<BenchDevice, 'id' | 'kind' | 'zoneKind' | 'zoneTags'>[], seed = 2) {
    const rand = seededRandom(seed);
    const t0 = Date.UTC(2026, 0, 1);
    this.samples = [];
    this.readings = [];
    this.channels = [];
    for (const d of devices) {
      const model = MODELS[d.kind];
      const state = model.init(d.id, { zoneKind: d.zoneKind, zoneTags: d.zoneTags }, rand, t0);
      const texts: [string, string][] = [];
      const counts: number[] = [];
      let channel: 'telemetry' | 'senml' = 'telemetry';
      for (let i = 0; i < SAMPLES_PER_DEVICE; i++) {
        const [publication] = model.step(state, t0 + i * model.intervalMs, CALM, rand);
        if (publication!.channel === 'senml') {
          channel = 'senml';
          const pack = JSON.parse(publication!.payload) as Record<string, unknown>[];
          const latest = pack.filter((r) => r.t === undefined).map(({ bn: _n, bt: _t, bver: _v, ...r }) => r);
          const [head, tail] = JSON.stringify([{ bn: pack[0]!.bn, bt: TS_MARK, ...latest[0] }, ...latest.slice(1)]).split(`"${TS_MARK}"`);
          texts.push([head!, tail!]);
          counts.push(latest.length);
        } else {
          const { values } = JSON.parse(publication!.payload) as { values: Record<string, unknown> };
          texts.push(['{"ts":', `,"values":${JSON.stringify(values)}}`]);
          counts.push(Object.keys(values).length);
        }
      }
      this.samples.push(texts);
      this.readings.push(counts);
      this.channels.push(channel);
    }
    this.cursor = new Uint32Array(devices.length);
  }

  /** The next payload of device `i`, stamped `ts` (epoch ms); `readings` tells how many it holds. */
  next(i: number, ts: number): { payload: string; readings: number } {
    const k = this.cursor[i]!;
    this.cursor[i] = (k + 1) % SAMPLES_PER_DEVICE;
    const [head, tail] = this.samples[i]![k]!;
    // SenML's base time is in seconds.
    return { payload: `${head}${this.channels[i] === 'senml' ? ts / 1000 : ts}${tail}`, readings: this.readings[i]![k]! };
  }
}

const TS_MARK = '@ts@';

/** A copy of the demo city whose sub-centers and district center post to `webhook`, signed with `secret`. */
export function cityWithWebhook(webhook: string, secret: string, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-bench-city-'))): string {
  for (const f of fs.readdirSync(DEFAULT_CITY_DIR)) fs.copyFileSync(path.join(DEFAULT_CITY_DIR, f), path.join(dir, f));
  const subcenters = path.join(dir, 'subcenters.geojson');
  const fc = JSON.parse(fs.readFileSync(subcenters, 'utf8')) as { features: { properties: Record<string, unknown> }[] };
  for (const f of fc.features) Object.assign(f.properties, { webhook, secret });
  fs.writeFileSync(subcenters, JSON.stringify(fc));
  const cityFile = path.join(dir, 'city.yaml');
  const doc = YAML.parseDocument(fs.readFileSync(cityFile, 'utf8'));
  doc.setIn(['district', 'webhook'], webhook);
  doc.setIn(['district', 'secret'], secret);
  fs.writeFileSync(cityFile, doc.toString());
  return dir;
}

/**
 * Adds the devices to the state store of `dataDir` directly, as `POST /api/devices/import`
 * would, all with one secret (hashed once). Returns that secret.
 */
export async function provisionDevices(dataDir: string, devices: readonly BenchDevice[]): Promise<string> {
  const secret = generateSecret();
  const secretHash = await hashSecret(secret);
  const state = new SqliteStateStore(dataDir);
  try {
    const now = Date.now();
    for (const d of devices) await state.devices.add(provisionedDevice({ id: d.id, kind: d.kind, location: d.location }, secretHash, now));
  } finally {
    await state.close();
  }
  return secret;
}
