/**
 * What is happening to one device at a simulated time: the rain over it and the incidents of
 * the scenario's timeline that target it. Pure: a function of the incident list and the time.
 */

export const INCIDENT_TYPES = ['rainstorm', 'fire', 'gas_leak', 'manhole_open', 'crowd', 'intrusion', 'fault', 'dropout'] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];
export const FAULT_MODES = ['spike', 'garbage', 'stuck'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface Incident {
  type: IncidentType;
  /** Simulated epoch ms. */
  start: number;
  /** Exclusive; Infinity for "until the run ends". */
  end: number;
  /** rainstorm: peak mm/h; gas_leak: peak %LEL. */
  peak?: number;
  /** crowd: the crowd size the cameras see at the peak. */
  count?: number;
  /** intrusion: what the camera detects. */
  label?: string;
  mode?: FaultMode;
  /** How long it takes to build up (default: per type, see RAMP_MS). */
  rampMs?: number;
}

export interface Conditions {
  /** Rain over the device, mm/h. */
  rain: number;
  /** 0..1: how fully a fire has developed near the device. */
  fire: number;
  /** Gas concentration the leak drives the sensor to, %LEL (0 without a leak). */
  gasLel: number;
  manholeOpen: boolean;
  /** Crowd size the camera sees (undefined: the usual crowd). */
  crowd: number | undefined;
  /** What an intruder is detected as, while an intrusion lasts. */
  intrusion: string | undefined;
  fault: FaultMode | undefined;
  /** The device is silent. */
  dropout: boolean;
}

export const CALM: Readonly<Conditions> = { rain: 0, fire: 0, gasLel: 0, manholeOpen: false, crowd: undefined, intrusion: undefined, fault: undefined, dropout: false };

const MINUTE = 60_000;
/** How long an incident takes to build up, and to fade after it ends. */
const RAMP_MS: Record<IncidentType, number> = {
  rainstorm: 10 * MINUTE,
  fire: 3 * MINUTE,
  gas_leak: 3 * MINUTE,
  crowd: 5 * MINUTE,
  manhole_open: 0,
  intrusion: 0,
  fault: 0,
  dropout: 0,
};

/** A trapezoid: rises over `ramp` from `start`, holds, falls over `ramp` from `end`. */
export function intensity(t: number, start: number, end: number, ramp: number): number {
  if (t < start) return 0;
  if (ramp === 0) return t < end ? 1 : 0;
  const up = Math.min(1, (t - start) / ramp);
  const down = t < end ? 1 : Math.max(0, 1 - (t - end) / ramp);
  return Math.min(up, down);
}

export function conditionsAt(incidents: readonly Incident[], t: number): Conditions {
  if (incidents.length === 0) return CALM;
  const c: Conditions = { ...CALM };
  for (const i of incidents) {
    // A storm's ramp fits inside it: a short shower still reaches its peak.
    const ramp = i.rampMs ?? (i.type === 'rainstorm' && Number.isFinite(i.end) ? Math.min(RAMP_MS.rainstorm, (i.end - i.start) / 3) : RAMP_MS[i.type]);
    const k = intensity(t, i.start, i.end, ramp);
    if (k === 0) continue;
    switch (i.type) {
      case 'rainstorm':
        // Storms come in bursts: the rate swings ±15 % around the envelope, on a 7-minute period.
        c.rain += (i.peak ?? 60) * k * (0.85 + 0.15 * Math.sin((2 * Math.PI * (t - i.start)) / (7 * MINUTE)));
        break;
      case 'fire':
        c.fire = Math.max(c.fire, k);
        break;
      case 'gas_leak':
        c.gasLel = Math.max(c.gasLel, (i.peak ?? 45) * k);
        break;
      case 'manhole_open':
        c.manholeOpen = true;
        break;
      case 'crowd':
        c.crowd = Math.max(c.crowd ?? 0, Math.round((i.count ?? 1000) * k));
        break;
      case 'intrusion':
        c.intrusion = i.label ?? 'person';
        break;
      case 'fault':
        c.fault = i.mode ?? 'spike';
        break;
      case 'dropout':
        c.dropout = true;
        break;
    }
  }
  return c;
}
