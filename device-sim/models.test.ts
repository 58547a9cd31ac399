import { describe, expect, it } from 'vitest';
import { classifyDeviceTopic } from '../core/topics.js';
import { decodePublish } from '../ingest/decoders.js';
import { SimulationEngine, type Emission } from './engine.js';
import type { SimDevice } from './fleet.js';
import { CALM, conditionsAt, intensity, type Incident } from './incidents.js';
import { DEVICE_KINDS, MODELS, activity, daytime, diurnal, type DeviceKind } from './models.js';
import { seededRandom } from './random.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** 2026-11-20 00:00 in the demo city (UTC+8). */
const T0 = Date.UTC(2026, 10, 19, 16, 0, 0);

function device(kind: DeviceKind, n = 1, zoneKind?: string, zoneTags: string[] = []): SimDevice {
  return { id: `t-${MODELS[kind].slug}-${n}`, kind, location: { lat: 23.1, lon: 113.3 }, zoneId: undefined, zoneKind, zoneTags, zoneIds: [], subcenterId: undefined };
}

function run(devices: SimDevice[], opts: { hours?: number; incidents?: Map<string, Incident[]>; seed?: number; background?: { dropout: number; faults: number } } = {}): Emission[] {
  const engine = new SimulationEngine({ fleet: devices, seed: opts.seed ?? 1, start: T0, incidents: opts.incidents, background: opts.background });
  return engine.take(T0 + (opts.hours ?? 1) * HOUR, Infinity);
}

/** The platform's own decoders: what StreetWatch would store or refuse. */
function decode(e: Emission) {
  const topic = e.topic.split('/');
  return decodePublish(classifyDeviceTopic(topic.slice(3)), e.topic, Buffer.from(e.payload), {
    deviceId: e.deviceId,
    ref: 'r',
    receivedAt: e.t + 1000,
    maxReadingAgeMs: 7 * 86_400_000,
    maxPayloadBytes: 65536,
    maxClockSkewMs: 300_000,
  });
}

const series = (emissions: Emission[], metric: string) =>
  emissions.flatMap((e) => decode(e).readings.filter((r) => r.metric === metric).map((r) => ({ t: r.ts, v: r.value })));

describe('device models', () => {
  it('send only what the platform accepts, for every kind over a whole day', () => {
    const fleet = DEVICE_KINDS.map((k) => device(k));
    const emissions = run(fleet, { hours: 24 });
    for (const kind of DEVICE_KINDS) expect(emissions.some((e) => e.deviceId === device(kind).id), kind).toBe(true);
    const refused = emissions.flatMap((e) => decode(e).rejections.map((r) => `${e.deviceId}: ${r.code} ${r.message}`));
    expect(refused).toEqual([]);
  });

  it('are deterministic for a seed, and differ for another', () => {
    const fleet = DEVICE_KINDS.map((k) => device(k));
    expect(run(fleet)).toEqual(run(fleet));
    expect(run(fleet, { seed: 2 })).not.toEqual(run(fleet));
  });

  it('give each device its own random stream: adding a device changes nothing for the others', () => {
    const a = device('smoke', 1);
    const alone = run([a]);
    const withOther = run([device('gas', 9), a]).filter((e) => e.deviceId === a.id);
    expect(withOther).toEqual(alone);
  });

  it('raise the water level with the rain, after a lag, and drain it after the storm', () => {
    const wl = device('water_level', 1, 'underpass');
    const storm: Incident = { type: 'rainstorm', start: T0 + 30 * MIN, end: T0 + 90 * MIN, peak: 90 };
    const level = series(run([wl], { hours: 4, incidents: new Map([[wl.id, [storm]]]) }), 'water_level');
    const at = (t: number) => level.filter((p) => p.t <= t).at(-1)!.v;
    expect(Math.max(...level.filter((p) => p.t < storm.start).map((p) => p.v))).toBeLessThan(0.1);
    // Rain starts at +30m, but the water needs minutes to rise over the 0.3 m alarm level.
    const firstOver = level.find((p) => p.v > 0.3)!;
    expect(firstOver.t - storm.start).toBeGreaterThan(5 * MIN);
    expect(at(T0 + 80 * MIN)).toBeGreaterThan(0.5);
    expect(at(T0 + 4 * HOUR)).toBeLessThan(0.1);
    const rain = series(run([wl], { hours: 4, incidents: new Map([[wl.id, [storm]]]) }), 'rainfall');
    expect(Math.max(...rain.map((p) => p.v))).toBeGreaterThan(60);
  });

  it('follow the day: temperature peaks in the afternoon, noise is higher by day, crowds at rush hour', () => {
    expect(diurnal(T0 + 16 * HOUR)).toBeCloseTo(1);
    expect(diurnal(T0 + 4 * HOUR)).toBeCloseTo(0);
    expect(daytime(T0 + 12 * HOUR)).toBeGreaterThan(0.95);
    expect(daytime(T0 + 2 * HOUR)).toBeLessThan(0.05);
    expect(activity(T0 + 18 * HOUR)).toBeGreaterThan(activity(T0 + 14 * HOUR));
    const day = run([device('smoke'), device('air')], { hours: 24 });
    const temp = series(day, 'temperature');
    const noise = series(day, 'noise');
    const mean = (ps: { t: number; v: number }[], from: number, to: number) => {
      const xs = ps.filter((p) => p.t >= T0 + from * HOUR && p.t < T0 + to * HOUR).map((p) => p.v);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(mean(temp, 14, 17) - mean(temp, 3, 6)).toBeGreaterThan(4);
    expect(mean(noise, 10, 17) - mean(noise, 1, 5)).toBeGreaterThan(10);
  });

  it('cross the alarm thresholds only during their incident', () => {
    const [smoke, gas, manhole] = [device('smoke'), device('gas'), device('manhole')];
    const fire: Incident = { type: 'fire', start: T0 + 20 * MIN, end: T0 + 40 * MIN };
    const leak: Incident = { type: 'gas_leak', start: T0 + 20 * MIN, end: T0 + 40 * MIN, peak: 45 };
    const open: Incident = { type: 'manhole_open', start: T0 + 20 * MIN, end: T0 + 40 * MIN };
    const e = run([smoke, gas, manhole], { hours: 2, incidents: new Map([[smoke.id, [fire]], [gas.id, [leak]], [manhole.id, [open]]]) });
    const during = (p: { t: number }) => p.t >= T0 + 20 * MIN && p.t < T0 + 44 * MIN;
    for (const [metric, threshold] of [['smoke', 10], ['gas_lel', 25], ['manhole_open', 0.5]] as const) {
      const over = series(e, metric).filter((p) => p.v > threshold);
      expect(over.length, metric).toBeGreaterThan(5);
      expect(over.every(during), metric).toBe(true);
    }
  });

  it('drain their batteries', () => {
    const v = series(run([device('manhole')], { hours: 48 }), 'battery_v');
    expect(v.at(-1)!.v).toBeLessThan(v[0]!.v);
  });

  it('give cameras crowds and detections, and the NVR Frigate tracks from new to end', () => {
    const cam = device('camera', 1, 'stadium', ['crowd']);
    const nvr = device('nvr');
    const incidents = new Map([
      [cam.id, [{ type: 'crowd', start: T0 + 10 * HOUR, end: T0 + 11 * HOUR, count: 5000 }, { type: 'fire', start: T0 + 10 * HOUR, end: T0 + 11 * HOUR }]],
      [nvr.id, [{ type: 'intrusion', start: T0 + 2 * HOUR, end: T0 + 2 * HOUR + 10 * MIN, label: 'person' }]],
    ] as [string, Incident[]][]);
    const e = run([cam, nvr], { hours: 12, incidents });
    const events = e.flatMap((x) => decode(x).events.map((ev) => ({ ...ev, t: x.t })));
    const crowd = events.filter((x) => x.deviceId === cam.id && x.type === 'crowd');
    const peak = Math.max(...crowd.filter((x) => x.ts >= T0 + 10.2 * HOUR && x.ts < T0 + 11 * HOUR).map((x) => x.count!));
    const usual = Math.max(...crowd.filter((x) => x.ts < T0 + 9 * HOUR).map((x) => x.count!));
    expect(peak).toBeGreaterThan(4000);
    expect(usual).toBeLessThan(500);
    expect(events.some((x) => x.deviceId === cam.id && x.type === 'fire')).toBe(true);

    const tracks = new Map<string, string[]>();
    for (const x of events.filter((x) => x.deviceId === nvr.id)) tracks.set(x.trackId!, [...(tracks.get(x.trackId!) ?? []), x.phase!]);
    expect(tracks.size).toBeGreaterThan(10);
    for (const phases of tracks.values()) {
      expect(phases[0]).toBe('new');
      expect(phases.slice(1, -1).every((p) => p === 'update')).toBe(true);
    }
    expect([...tracks.values()].filter((p) => p.at(-1) === 'end').length).toBeGreaterThan(10);
    const intruders = events.filter((x) => x.deviceId === nvr.id && x.cameraZones?.includes('restricted'));
    expect(intruders.length).toBeGreaterThan(0);
    expect(intruders.every((x) => x.ts >= T0 + 2 * HOUR && x.ts < T0 + 2 * HOUR + 11 * MIN)).toBe(true);
  });

  it('fall silent in a dropout, and send faulty reports the platform refuses', () => {
    const wl = device('water_level');
    const incidents = new Map([
      [
        wl.id,
        [
          { type: 'dropout', start: T0 + 10 * MIN, end: T0 + 20 * MIN },
          { type: 'fault', start: T0 + 30 * MIN, end: T0 + 31 * MIN, mode: 'spike' },
          { type: 'fault', start: T0 + 40 * MIN, end: T0 + 41 * MIN, mode: 'garbage' },
          { type: 'fault', start: T0 + 50 * MIN, end: T0 + 55 * MIN, mode: 'stuck' },
        ] as Incident[],
      ],
    ]);
    const e = run([wl], { incidents });
    expect(e.filter((x) => x.t >= T0 + 10 * MIN && x.t < T0 + 20 * MIN)).toEqual([]);
    expect(e.flatMap((x) => decode(x).rejections.map((r) => r.code))).toEqual(['SW_ERR_METRIC_RANGE', 'SW_ERR_PAYLOAD_JSON']);
    const stuck = e.filter((x) => x.t >= T0 + 50 * MIN && x.t < T0 + 55 * MIN).map((x) => JSON.parse(x.payload).values);
    expect(stuck.length).toBeGreaterThan(3);
    expect(new Set(stuck.map((v) => JSON.stringify(v))).size).toBe(1);
  });

  it('add background mishaps without changing the reports that go through', () => {
    const fleet = [device('gas', 1), device('smoke', 2)];
    const clean = run(fleet, { hours: 24 });
    const rough = run(fleet, { hours: 24, background: { dropout: 0.01, faults: 0.01 } });
    expect(rough.length).toBeLessThan(clean.length);
    const refused = rough.filter((x) => decode(x).rejections.length > 0);
    expect(refused.length).toBeGreaterThan(5);
    const fine = rough.filter((x) => decode(x).rejections.length === 0);
    const byKey = new Map(clean.map((x) => [`${x.deviceId}@${x.t}`, x.payload]));
    for (const x of fine) expect(x.payload).toBe(byKey.get(`${x.deviceId}@${x.t}`));
  });
});

describe('incident conditions', () => {
  it('build up, hold and fade', () => {
    expect([0, 5, 10, 20, 30, 35, 40].map((m) => intensity(T0 + m * MIN, T0 + 5 * MIN, T0 + 30 * MIN, 10 * MIN))).toEqual([0, 0, 0.5, 1, 1, 0.5, 0]);
    expect(conditionsAt([], T0)).toBe(CALM);
    // A demo hazard builds up in half a minute instead of a fire's three.
    expect(conditionsAt([{ type: 'fire', start: T0, end: Infinity, rampMs: 30_000 }], T0 + 30_000).fire).toBe(1);
    expect(conditionsAt([{ type: 'fire', start: T0, end: Infinity }], T0 + 30_000).fire).toBeLessThan(0.2);
    const c = conditionsAt([{ type: 'rainstorm', start: T0, end: T0 + HOUR, peak: 60 }, { type: 'rainstorm', start: T0, end: T0 + HOUR, peak: 20 }], T0 + 30 * MIN);
    expect(c.rain).toBeGreaterThan(60);
  });

  it('are reproducible for the PRNG too', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
  });
});
