/**
 * How a SenML record becomes a StreetWatch metric: by its **name suffix** and its **unit**.
 *
 * The name suffix is what the record's name says beyond the device: the rest of the name after
 * the device's provisioned SenML name (`urn:dev:ow:10e2073a01080063` + `:temp` → `temp`), or,
 * for a device provisioned without one, the name's last segment after the last `:` or `/`
 * (`urn:dev:mac:0024befffe804ff1:temp` → `temp`).
 *
 * The metric is the first of these that applies:
 * 1. the device's own mapping table (provisioning, `senml.map`), then its gateway's: an entry
 *    names a suffix, a unit or both, and the metric they mean; the most specific entry wins;
 * 2. the default table below: the suffix's last segment, lower-cased with `-` and `.` read as
 *    `_`, is a metric name or one of its aliases;
 * 3. the unit alone, for the few units that only one metric of the catalogue is measured in
 *    (`Cel`, `%RH`, ...: UNIT_METRICS below), so that the RFC's own `{"n":"urn:dev:ow:...",
 *    "u":"Cel"}` is a temperature.
 *
 * Units are the SenML registry's (RFC 8428 §12.1, RFC 8798 primary and secondary units), plus
 * the metric's own StreetWatch unit where SenML has none (`%LEL`, `%obs/m`, `dBA`). A value is
 * converted to the metric's unit; a record without a unit is taken to be in it already. The
 * units `lat` and `lon` are not metrics: they give the device's position (see senml.ts).
 */
import { METRICS } from '../core/metric-catalog.js';
import type { SenmlMapEntry } from '../core/schemas.js';

/** `canonical = value * scale + offset` */
export interface UnitConversion {
  scale: number;
  offset?: number;
}

export interface SenmlMetricMapping {
  /** Name segments (besides the metric name itself) that mean this metric. */
  aliases: readonly string[];
  /** Accepted SenML units and how each converts to the metric's unit. */
  units: ReadonlyMap<string, UnitConversion>;
}

const same: UnitConversion = { scale: 1 };
const units = (entries: Record<string, UnitConversion>): ReadonlyMap<string, UnitConversion> => new Map(Object.entries(entries));

/** The SenML mapping of every known metric. */
export const SENML_METRICS: ReadonlyMap<string, SenmlMetricMapping> = new Map<string, SenmlMetricMapping>([
  ['water_level', { aliases: ['level', 'waterlevel', 'water_depth', 'depth'], units: units({ m: same, cm: { scale: 0.01 }, mm: { scale: 0.001 } }) }],
  ['rainfall', { aliases: ['rain', 'rain_rate', 'rainrate', 'precipitation'], units: units({ 'mm/h': same, 'm/h': { scale: 1000 } }) }],
  ['smoke', { aliases: ['smoke_density', 'obscuration'], units: units({ '%obs/m': same }) }],
  ['gas_lel', { aliases: ['gas', 'lel', 'combustible_gas'], units: units({ '%LEL': same, '%': same }) }],
  ['co', { aliases: ['carbon_monoxide'], units: units({ ppm: same }) }],
  ['temperature', { aliases: ['temp'], units: units({ Cel: same, K: { scale: 1, offset: -273.15 }, '°C': same }) }],
  ['humidity', { aliases: ['hum', 'rh', 'relative_humidity'], units: units({ '%RH': same, '%': same }) }],
  // SenML registers no A-weighted level; "dB" from a noise meter is the A-weighted level in practice.
  ['noise', { aliases: ['sound_level', 'spl', 'laeq'], units: units({ dBA: same, dB: same, Bspl: { scale: 10 } }) }],
  ['pm25', { aliases: ['pm2_5'], units: units({ 'ug/m3': same, 'µg/m³': same }) }],
  ['pm10', { aliases: [], units: units({ 'ug/m3': same, 'µg/m³': same }) }],
  ['manhole_tilt', { aliases: ['cover_tilt'], units: units({ deg: same, rad: { scale: 180 / Math.PI }, '°': same }) }],
  ['manhole_open', { aliases: ['cover_open'], units: units({ bool: same }) }],
  ['battery_v', { aliases: ['battery', 'batt', 'vbat', 'battery_voltage'], units: units({ V: same, mV: { scale: 0.001 } }) }],
  ['crowd_count', { aliases: ['people', 'people_count', 'persons'], units: units({ count: same, persons: same }) }],
  ['wind_speed', { aliases: ['wind', 'windspeed'], units: units({ 'm/s': same, 'km/h': { scale: 1 / 3.6 } }) }],
  ['tilt', { aliases: ['inclination'], units: units({ deg: same, rad: { scale: 180 / Math.PI }, '°': same }) }],
]);

const BY_NAME: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const [metric, mapping] of SENML_METRICS) {
    m.set(metric, metric);
    for (const alias of mapping.aliases) m.set(alias, metric);
  }
  return m;
})();

/**
 * Units that only one metric of the catalogue is measured in: a record in one of them is that
 * metric whatever its name says. `V`, `m`, `ppm`, `deg`, `ug/m3`, `m/s` are not here: mains and
 * battery voltage, water level and distance, CO and CO2, manhole and pole tilt, PM2.5 and PM10,
 * wind and water speed share them.
 */
export const UNIT_METRICS: ReadonlyMap<string, string> = new Map([
  ['Cel', 'temperature'],
  ['K', 'temperature'],
  ['°C', 'temperature'],
  ['%RH', 'humidity'],
  ['%LEL', 'gas_lel'],
  ['%obs/m', 'smoke'],
  ['mm/h', 'rainfall'],
  ['dBA', 'noise'],
  ['Bspl', 'noise'],
]);

/** SenML units of a position (RFC 8428 §12.1: degrees latitude and longitude, WGS 84). */
export const POSITION_UNITS: ReadonlySet<string> = new Set(['lat', 'lon']);

export type { SenmlMapEntry };

/** The suffix of a record's name: after the device's SenML name, else after the last `:` or `/`. */
export function nameSuffix(name: string, deviceName: string | null): string {
  if (deviceName !== null && name.startsWith(deviceName)) return name.slice(deviceName.length).replace(/^[:/]+/, '');
  return lastSegment(name);
}

function lastSegment(name: string): string {
  return name.slice(Math.max(name.lastIndexOf(':'), name.lastIndexOf('/')) + 1);
}

/** The metric of a name suffix by the default table (aliases), or undefined. */
export function metricForSenmlName(suffix: string): string | undefined {
  return BY_NAME.get(lastSegment(suffix).toLowerCase().replace(/[-.]/g, '_'));
}

export type MetricChoice = { metric: string; via: 'table' | 'name' | 'unit' };

/**
 * The metric of a record, by (suffix, unit): the mapping tables in order (the device's, then its
 * gateway's), the default name table, then the unit alone. Undefined when nothing applies.
 */
export function chooseMetric(suffix: string, unit: string | undefined, tables: readonly (readonly SenmlMapEntry[])[]): MetricChoice | undefined {
  for (const table of tables) {
    let best: SenmlMapEntry | undefined;
    let bestScore = -1;
    for (const e of table) {
      if ((e.suffix !== undefined && e.suffix !== suffix) || (e.unit !== undefined && e.unit !== unit)) continue;
      const score = (e.suffix !== undefined ? 2 : 0) + (e.unit !== undefined ? 1 : 0);
      if (score > bestScore) [best, bestScore] = [e, score];
    }
    if (best) return { metric: best.metric, via: 'table' };
  }
  const byName = metricForSenmlName(suffix);
  if (byName !== undefined) return { metric: byName, via: 'name' };
  const byUnit = unit === undefined ? undefined : UNIT_METRICS.get(unit);
  return byUnit === undefined ? undefined : { metric: byUnit, via: 'unit' };
}

export type UnitCheck = { ok: true; value: number } | { ok: false; accepted: string };

/**
 * Converts a value to the metric's unit; a missing unit means the metric's unit. A metric outside
 * the catalogue (named by a device's mapping table) has no unit to convert to: its value is kept.
 */
export function toMetricUnit(metric: string, unit: string | undefined, value: number): UnitCheck {
  const mapping = SENML_METRICS.get(metric);
  if (unit === undefined || !mapping) return { ok: true, value };
  const conversion = mapping.units.get(unit);
  if (!conversion) return { ok: false, accepted: [...mapping.units.keys()].join(', ') };
  if (conversion.scale === 1 && !conversion.offset) return { ok: true, value };
  // Rounded to 15 significant digits, what a double holds exactly: 42 cm is 0.42 m, not 0.42000000000000004.
  return { ok: true, value: Number((value * conversion.scale + (conversion.offset ?? 0)).toPrecision(15)) };
}

/** Every catalogued metric has a SenML mapping: checked by the tests. */
export function unmappedMetrics(): string[] {
  return [...METRICS.keys()].filter((m) => !SENML_METRICS.has(m));
}
