/**
 * Simulated devices: what each kind reports, as a function of time, the conditions around it
 * (rain, fire, a gas leak... see incidents.ts) and its own seeded randomness. Pure: a model
 * keeps its state in the object `init` returns, and `step` only reads the time and conditions
 * it is given, so the same seed and scenario give the same payloads.
 */
import { METRICS } from '../core/metric-catalog.js';
import type { Conditions, IncidentType } from './incidents.js';
import { gaussian } from './random.js';

export const DEVICE_KINDS = ['water_level', 'smoke', 'gas', 'manhole', 'air', 'weather', 'camera', 'nvr'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** The topic a publication goes to, under `v1/devices/{id}/`. */
export type Channel = 'telemetry' | 'senml' | 'events' | 'frigate/events';

export interface Publication {
  channel: Channel;
  payload: string;
}

/** Where a device is installed, as far as its signals care. */
export interface Site {
  zoneKind: string | undefined;
  zoneTags: readonly string[];
}

export interface DeviceModel<S = unknown> {
  kind: DeviceKind;
  /** The kind's part of simulated device ids: `sim-wl-0001`. */
  slug: string;
  /** The zone kinds or tags this device is usually installed in. */
  placeIn: { kinds?: string[]; tags?: string[] };
  /** Simulated time between two reports. */
  intervalMs: number;
  /** Incidents that reach this kind of device when they strike its zone. */
  affectedBy: readonly IncidentType[];
  init(id: string, site: Site, rand: () => number, t0: number): S;
  /** What the device publishes at time `t` (simulated epoch ms). */
  step(state: S, t: number, c: Conditions, rand: () => number): Publication[];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const round = (v: number, digits: number): number => Number(v.toFixed(digits));
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** Hour of the day in the demo city, which keeps China Standard Time (UTC+8). */
const localHour = (t: number): number => ((((t + 8 * HOUR) % DAY) + DAY) % DAY) / HOUR;
/** 0 at 04:00, 1 at 16:00: the daily temperature swing. */
export const diurnal = (t: number): number => (1 - Math.cos((2 * Math.PI * (localHour(t) - 4)) / 24)) / 2;
/** About 0 at night and 1 by day, with the city waking around 07:00 and quieting after 22:00. */
export const daytime = (t: number): number => sigmoid((localHour(t) - 7) * 2) * sigmoid((22 - localHour(t)) * 2);
/** Street activity: low at night, peaks in the morning and evening rush. */
export const activity = (t: number): number => {
  const h = localHour(t);
  const rush = Math.exp(-((h - 8.5) ** 2) / 2) + Math.exp(-((h - 18) ** 2) / 2);
  return 0.1 + 0.9 * daytime(t) * (0.55 + 0.45 * Math.min(1, rush));
};

type Values = Record<string, number | boolean>;

/** A value far outside the catalogue's plausible range: a sensor fault the platform must refuse. */
function spike(values: Values): Values {
  for (const [metric, v] of Object.entries(values)) {
    const max = METRICS.get(metric)?.max;
    if (typeof v === 'number' && max !== undefined) return { ...values, [metric]: max * 10 };
  }
  return values;
}

/** A payload cut short, as a radio link or a full buffer does. */
const garble = (payload: string): string => payload.slice(0, Math.floor(payload.length / 2));

interface SensorState {
  battery: number;
  lastT: number | undefined;
  last: Values | undefined;
}

/**
 * A sensor that publishes `{ts, values}` telemetry. Faults are applied here, the same way for
 * every kind: "stuck" repeats the last values (the physics keeps running underneath), "spike"
 * reports an impossible value, "garbage" a truncated payload.
 */
function sensor<S extends SensorState>(spec: Omit<DeviceModel<S>, 'step'> & { sample(s: S, t: number, dtMs: number, c: Conditions, rand: () => number): Values }): DeviceModel<S> {
  const { sample, ...model } = spec;
  return {
    ...model,
    step(s, t, c, rand) {
      const dt = s.lastT === undefined ? spec.intervalMs : t - s.lastT;
      const fresh = sample(s, t, dt, c, rand);
      const values = c.fault === 'stuck' && s.last ? s.last : fresh;
      s.lastT = t;
      s.last = values;
      const payload = JSON.stringify({ ts: t, values: c.fault === 'spike' ? spike(values) : values });
      return [{ channel: 'telemetry', payload: c.fault === 'garbage' ? garble(payload) : payload }];
    },
  };
}

/** Batteries drain with time and with every radio transmission. */
function battery(s: SensorState, dtMs: number, rand: () => number): number {
  s.battery = Math.max(2.9, s.battery - (dtMs / HOUR) * 0.0005 - 0.00002);
  return round(s.battery + 0.01 * (rand() - 0.5), 2);
}

const sensorBase = (rand: () => number): SensorState => ({ battery: 3.55 + 0.15 * rand(), lastT: undefined, last: undefined });

interface WaterState extends SensorState {
  level: number;
  base: number;
  /** Metres of water the steady state rises per mm/h of rain. */
  gain: number;
  /** How slowly the water follows the rain. */
  tauMs: number;
}

const waterLevel = sensor<WaterState>({
  kind: 'water_level',
  slug: 'wl',
  placeIn: { kinds: ['underpass', 'riverbank'], tags: ['flood'] },
  intervalMs: MINUTE,
  affectedBy: ['rainstorm', 'fault', 'dropout'],
  init(_id, site, rand) {
    // A creek stands a metre or more deep and rises slowly; an underpass is dry and floods fast.
    const profile =
      site.zoneKind === 'riverbank'
        ? { base: 1.0 + 0.6 * rand(), gain: 0.022, tauMs: 20 * MINUTE }
        : site.zoneKind === 'underpass'
          ? { base: 0.02 + 0.03 * rand(), gain: 0.009, tauMs: 5 * MINUTE }
          : { base: 0.05 + 0.08 * rand(), gain: 0.004, tauMs: 10 * MINUTE };
    return { ...sensorBase(rand), ...profile, level: profile.base };
  },
  sample(s, _t, dt, c, rand) {
    // The water follows the rain with a lag and drains after it: a first-order response.
    const target = s.base + s.gain * c.rain;
    s.level += (target - s.level) * (1 - Math.exp(-dt / s.tauMs));
    return {
      water_level: round(Math.max(0, s.level + 0.002 * gaussian(rand)), 3),
      rainfall: round(Math.max(0, c.rain > 0 ? c.rain + 1.5 * gaussian(rand) : 0), 1),
      battery_v: battery(s, dt, rand),
    };
  },
});

const smoke = sensor<SensorState>({
  kind: 'smoke',
  slug: 'smoke',
  placeIn: { tags: ['fire', 'old_housing'] },
  intervalMs: MINUTE,
  affectedBy: ['fire', 'fault', 'dropout'],
  init: (_id, _site, rand) => sensorBase(rand),
  sample(s, t, dt, c, rand) {
    // Kitchens: short, harmless bursts well under the alarm threshold.
    const cooking = rand() < 0.02 ? 1 + 4 * rand() : 0;
    return {
      smoke: round(0.2 + 0.3 * rand() + cooking + c.fire * (14 + 20 * rand()), 2),
      temperature: round(22 + 6 * diurnal(t) + 0.5 * gaussian(rand) + 45 * c.fire, 1),
      battery_v: battery(s, dt, rand),
    };
  },
});

const gas = sensor<SensorState>({
  kind: 'gas',
  slug: 'gas',
  placeIn: { tags: ['gas', 'hazmat'] },
  intervalMs: 30 * SECOND,
  affectedBy: ['gas_leak', 'fire', 'fault', 'dropout'],
  init: (_id, _site, rand) => sensorBase(rand),
  sample(_s, _t, _dt, c, rand) {
    return {
      gas_lel: round(clamp(0.4 + 0.4 * rand() + c.gasLel * (0.9 + 0.2 * rand()), 0, 100), 1),
      // Carbon monoxide comes from incomplete combustion: a fire nearby, not the leak itself.
      co: round(Math.max(0, 1.5 + 2 * rand() + 150 * c.fire), 1),
    };
  },
});

const manhole = sensor<SensorState>({
  kind: 'manhole',
  slug: 'manhole',
  placeIn: { tags: ['flood', 'crowd'] },
  intervalMs: MINUTE,
  affectedBy: ['manhole_open', 'fault', 'dropout'],
  init: (_id, _site, rand) => sensorBase(rand),
  sample(s, _t, dt, c, rand) {
    return {
      manhole_open: c.manholeOpen,
      manhole_tilt: round(c.manholeOpen ? 50 + 30 * rand() : 0.3 + 0.8 * rand(), 1),
      battery_v: battery(s, dt, rand),
    };
  },
});

interface AirState extends SensorState {
  /** A building site next door: louder by day. */
  construction: boolean;
}

const air = sensor<AirState>({
  kind: 'air',
  slug: 'air',
  placeIn: { tags: ['school', 'children', 'construction'] },
  intervalMs: MINUTE,
  affectedBy: ['rainstorm', 'fire', 'fault', 'dropout'],
  init: (_id, site, rand) => ({ ...sensorBase(rand), construction: site.zoneTags.includes('construction') }),
  sample(s, t, _dt, c, rand) {
    const pm25 = Math.max(2, 28 + 12 * Math.sin((2 * Math.PI * t) / DAY) - 0.15 * c.rain + 4 * gaussian(rand) + 120 * c.fire);
    return {
      noise: round(clamp(44 + (s.construction ? 26 : 18) * daytime(t) + 2.5 * gaussian(rand), 20, 120), 1),
      pm25: round(pm25, 1),
      pm10: round(pm25 * (1.6 + 0.2 * rand()), 1),
      humidity: round(clamp(62 + 15 * (1 - diurnal(t)) + 0.25 * c.rain + 2 * gaussian(rand), 0, 100), 1),
    };
  },
});

interface WeatherState {
  id: string;
  last: { temperature: number; humidity: number; rainfall: number; wind: number } | undefined;
}

/** A weather station that speaks SenML: a pack every minute with two samples 30 s apart. */
const weather: DeviceModel<WeatherState> = {
  kind: 'weather',
  slug: 'wx',
  placeIn: { tags: ['river'] },
  intervalMs: MINUTE,
  affectedBy: ['rainstorm', 'fault', 'dropout'],
  init: (id) => ({ id, last: undefined }),
  step(s, t, c, rand) {
    const sampleAt = (at: number) => ({
      temperature: round(23 + 7 * diurnal(at) - 0.04 * c.rain + 0.3 * gaussian(rand), 1),
      humidity: round(clamp(60 + 20 * (1 - diurnal(at)) + 0.3 * c.rain + 1.5 * gaussian(rand), 0, 100), 1),
      rainfall: round(Math.max(0, c.rain > 0 ? c.rain + 1.2 * gaussian(rand) : 0), 1),
      // km/h on the wire, as many stations report it; the platform converts to m/s.
      wind: round(3.6 * Math.max(0, 1.5 + 1.5 * rand() + 0.08 * c.rain + 0.5 * gaussian(rand)), 1),
    });
    const samples = [sampleAt(t - 30 * SECOND), sampleAt(t)].map((v) => (c.fault === 'stuck' && s.last ? s.last : v));
    s.last = samples[1];
    const records: Record<string, unknown>[] = [];
    samples.forEach((v, i) => {
      const rel = i === 0 ? { t: -30 } : {};
      records.push(
        { ...(i === 0 ? { bn: `urn:dev:sw:${s.id}:`, bt: t / 1000, bver: 10 } : {}), n: 'temperature', u: 'Cel', v: v.temperature, ...rel },
        { n: 'humidity', u: '%RH', v: v.humidity, ...rel },
        { n: 'rainfall', u: 'mm/h', v: v.rainfall, ...rel },
        { n: 'wind_speed', u: 'km/h', v: v.wind, ...rel },
      );
    });
    if (c.fault === 'spike') records[0] = { ...records[0], v: 5000 };
    const payload = JSON.stringify(records);
    return [{ channel: 'senml', payload: c.fault === 'garbage' ? garble(payload) : payload }];
  },
};

interface CameraState {
  id: string;
  /** People the camera sees on an ordinary day at the busiest hour. */
  usualCrowd: number;
}

/** An analytics camera: crowd counts every report, and detections when something happens. */
const camera: DeviceModel<CameraState> = {
  kind: 'camera',
  slug: 'cam',
  placeIn: { tags: ['crowd'] },
  intervalMs: 30 * SECOND,
  affectedBy: ['crowd', 'fire', 'intrusion', 'fault', 'dropout'],
  init: (id, site, rand) => ({ id, usualCrowd: Math.round((site.zoneTags.includes('crowd') ? 150 : 20) * (0.7 + 0.6 * rand())) }),
  step(s, t, c, rand) {
    let count = Math.round(s.usualCrowd * activity(t) * (0.8 + 0.4 * rand()));
    if (c.crowd !== undefined) count = Math.max(count, Math.round(c.crowd * (0.9 + 0.2 * rand())));
    const events: Record<string, unknown>[] = [{ type: 'crowd', count: c.fault === 'spike' ? 2_000_000 : count, score: round(0.85 + 0.1 * rand(), 2) }];
    if (c.fire > 0.2) events.push({ type: c.fire > 0.6 ? 'fire' : 'smoke', score: round(0.5 + 0.45 * c.fire, 2) });
    if (c.intrusion !== undefined) events.push({ type: c.intrusion, score: round(0.8 + 0.15 * rand(), 2) });
    return events.map((e, i) => {
      const payload = JSON.stringify({ ts: t, id: `${s.id}:${t}:${i}`, ...e });
      return { channel: 'events', payload: c.fault === 'garbage' ? garble(payload) : payload };
    });
  },
};

interface TrackedObject {
  id: string;
  label: string;
  camera: string;
  start: number;
  end: number;
  zones: string[];
  entered: string[];
  score: number;
  top: number;
  lastSent: number;
  box: [number, number, number, number];
  intruder: boolean;
  sent: boolean;
}

interface NvrState {
  id: string;
  cameras: string[];
  objects: TrackedObject[];
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A Frigate NVR: tracked people, cars and bicycles come and go (`new`, `update` on zone changes
 * and better scores, `end`), in Frigate's own message format; an intrusion puts a person in
 * the restricted zone.
 */
const nvr: DeviceModel<NvrState> = {
  kind: 'nvr',
  slug: 'nvr',
  placeIn: { tags: ['crowd', 'school'] },
  intervalMs: 10 * SECOND,
  affectedBy: ['intrusion', 'fault', 'dropout'],
  init: (id) => ({ id, cameras: ['gate', 'street'], objects: [] }),
  step(s, t, c, rand) {
    const out: Publication[] = [];
    const spawn = (label: string, zone: string, lifeMs: number, intruder: boolean): void => {
      const suffix = Array.from({ length: 6 }, () => BASE36[Math.floor(rand() * 36)]).join('');
      const score = round(0.6 + 0.35 * rand(), 4);
      const x = Math.floor(100 + 900 * rand());
      s.objects.push({
        id: `${(t / 1000).toFixed(6)}-${suffix}`,
        label,
        camera: s.cameras[Math.floor(rand() * s.cameras.length)]!,
        start: t,
        end: t + lifeMs,
        zones: [zone],
        entered: [zone],
        score,
        top: score,
        lastSent: t,
        box: [x, 200, x + 90, 460],
        intruder,
        sent: false,
      });
    };
    if (s.objects.length < 4 && rand() < 0.05 + 0.3 * activity(t)) {
      const r = rand();
      spawn(r < 0.65 ? 'person' : r < 0.9 ? 'car' : 'bicycle', rand() < 0.5 ? 'entrance' : 'street', (20 + 100 * rand()) * SECOND, false);
    }
    if (c.intrusion !== undefined && !s.objects.some((o) => o.intruder && o.end > t)) spawn(c.intrusion, 'restricted', 60 * SECOND, true);

    for (const o of [...s.objects]) {
      const before = frigateObject(o, o.lastSent / 1000, null);
      let type: 'new' | 'update' | 'end' | undefined;
      if (!o.sent) type = 'new';
      else if (t >= o.end) type = 'end';
      else if (rand() < 0.25 || t - o.lastSent >= 30 * SECOND) {
        type = 'update';
        if (!o.intruder && rand() < 0.5) {
          const zone = o.zones[0] === 'entrance' ? 'street' : 'entrance';
          o.zones = [zone];
          if (!o.entered.includes(zone)) o.entered.push(zone);
        }
        o.score = round(0.55 + 0.4 * rand(), 4);
        o.top = Math.max(o.top, o.score);
      }
      if (type === undefined) continue;
      o.sent = true;
      o.lastSent = t;
      if (type === 'end') s.objects.splice(s.objects.indexOf(o), 1);
      const after = frigateObject(o, t / 1000, type === 'end' ? t / 1000 : null);
      const payload = JSON.stringify({ type, before: type === 'new' ? after : before, after });
      out.push({ channel: 'frigate/events', payload: c.fault === 'garbage' ? garble(payload) : payload });
    }
    return out;
  },
};

/** A tracked object the way Frigate (0.14 and later) reports it on `<prefix>/events`. */
function frigateObject(o: TrackedObject, frameTime: number, endTime: number | null): Record<string, unknown> {
  const [x1, y1, x2, y2] = o.box;
  const area = (x2 - x1) * (y2 - y1);
  const region = [x1 - 80, y1 - 80, x2 + 80, y2 + 80];
  return {
    id: o.id,
    camera: o.camera,
    frame_time: frameTime,
    snapshot: { frame_time: frameTime, box: o.box, area, region, score: o.top, attributes: [] },
    label: o.label,
    sub_label: null,
    top_score: o.top,
    false_positive: false,
    start_time: o.start / 1000,
    end_time: endTime,
    score: o.score,
    box: o.box,
    area,
    ratio: round((x2 - x1) / (y2 - y1), 6),
    region,
    current_zones: endTime === null ? o.zones : [],
    entered_zones: o.entered,
    thumbnail: null,
    has_snapshot: true,
    has_clip: endTime !== null,
    active: true,
    stationary: false,
    motionless_count: 0,
    position_changes: o.entered.length - 1,
    attributes: {},
    current_attributes: [],
  };
}

export const MODELS: { readonly [K in DeviceKind]: DeviceModel<unknown> } = {
  water_level: waterLevel,
  smoke,
  gas,
  manhole,
  air,
  weather,
  camera,
  nvr,
};

/** Which device kind reports a metric, for `--hazard <metric>`. */
export const KIND_FOR_METRIC: ReadonlyMap<string, DeviceKind> = new Map<string, DeviceKind>([
  ['water_level', 'water_level'],
  ['rainfall', 'water_level'],
  ['smoke', 'smoke'],
  ['temperature', 'smoke'],
  ['gas_lel', 'gas'],
  ['co', 'gas'],
  ['manhole_open', 'manhole'],
  ['manhole_tilt', 'manhole'],
  ['noise', 'air'],
  ['pm25', 'air'],
  ['crowd_count', 'camera'],
]);
