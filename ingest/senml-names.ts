/**
 * How SenML names and units map onto StreetWatch metrics. A SenML name is a URI or URN that
 * identifies the sensor (`urn:dev:mac:0024befffe804ff1:temp`); the device is already known from
 * the topic, so only the last segment of the resolved name (after the last `:` or `/`) says what
 * was measured. That segment, lower-cased with `-` and `.` read as `_`, must be a StreetWatch
 * metric name or one of the aliases below.
 *
 * Units are the SenML registry's (RFC 8428 §12.1, RFC 8798 primary and secondary units), plus
 * the metric's own StreetWatch unit where SenML has none (`%LEL`, `%obs/m`, `dBA`). A value is
 * converted to the metric's unit; a record without a unit is taken to be in it already.
 */
import { METRICS } from '../core/metric-catalog.js';

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

/** The metric a resolved SenML name reports, or undefined. */
export function metricForSenmlName(name: string): string | undefined {
  const segment = name.slice(Math.max(name.lastIndexOf(':'), name.lastIndexOf('/')) + 1);
  return BY_NAME.get(segment.toLowerCase().replace(/[-.]/g, '_'));
}

export type UnitCheck = { ok: true; value: number } | { ok: false; accepted: string };

/** Converts a value to the metric's unit; a missing unit means the metric's unit. */
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
