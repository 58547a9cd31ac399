/**
 * Plausible sensor signals, pure and seeded: the same seed gives the same readings. A device
 * model maps (time, hazard?) to the values it reports.
 */

/** mulberry32: a small, fast, seedable PRNG (deterministic simulations). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type DeviceKind = 'water_level' | 'smoke' | 'gas' | 'manhole' | 'air';

export interface DeviceModel {
  kind: DeviceKind;
  /** The zone kinds or tags this device is usually installed in. */
  placeIn: { kinds?: string[]; tags?: string[] };
  /** Values at time `t` (epoch ms); `hazard` pushes the signal over the alert thresholds. */
  sample(t: number, rand: () => number, hazard: boolean): Record<string, number | boolean>;
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));
const DAY_MS = 86_400_000;
/** 0 at 04:00, 1 at 16:00 (local, UTC+8): the daily temperature swing. */
const diurnal = (t: number): number => (1 - Math.cos((2 * Math.PI * (((t + 8 * 3_600_000) % DAY_MS) - 4 * 3_600_000)) / DAY_MS)) / 2;

export const MODELS: Record<DeviceKind, DeviceModel> = {
  water_level: {
    kind: 'water_level',
    placeIn: { kinds: ['underpass', 'riverbank'] },
    sample: (_t, rand, hazard) => ({
      water_level: round(hazard ? 0.45 + rand() * 0.4 : 0.02 + rand() * 0.08, 3),
      rainfall: round(hazard ? 40 + rand() * 30 : rand() < 0.9 ? 0 : rand() * 3, 1),
      battery_v: round(3.6 + rand() * 0.1, 2),
    }),
  },
  smoke: {
    kind: 'smoke',
    placeIn: { tags: ['fire', 'old_housing'] },
    sample: (t, rand, hazard) => ({
      smoke: round(hazard ? 15 + rand() * 20 : rand() * 1.5, 2),
      temperature: round(hazard ? 55 + rand() * 20 : 18 + 10 * diurnal(t) + rand(), 1),
    }),
  },
  gas: {
    kind: 'gas',
    placeIn: { tags: ['gas', 'hazmat'] },
    sample: (_t, rand, hazard) => ({
      gas_lel: round(hazard ? 30 + rand() * 30 : rand() * 2, 1),
      co: round(hazard ? 60 + rand() * 40 : 1 + rand() * 4, 1),
    }),
  },
  manhole: {
    kind: 'manhole',
    placeIn: { tags: ['flood', 'crowd'] },
    sample: (_t, rand, hazard) => ({ manhole_open: hazard, manhole_tilt: round(hazard ? 40 + rand() * 40 : rand() * 2, 1) }),
  },
  air: {
    kind: 'air',
    placeIn: { tags: ['school', 'children', 'construction'] },
    sample: (t, rand) => ({
      noise: round(45 + 15 * diurnal(t) + rand() * 8, 1),
      pm25: round(20 + rand() * 25, 1),
      humidity: round(60 + rand() * 25, 1),
    }),
  },
};

export const KINDS = Object.keys(MODELS) as DeviceKind[];

/** Which device kind reports a metric, for `--hazard <metric>`. */
export function kindForMetric(metric: string): DeviceKind | undefined {
  return KINDS.find((k) => Object.keys(MODELS[k].sample(0, () => 0.5, false)).includes(metric));
}
