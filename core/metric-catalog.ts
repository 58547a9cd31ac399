/**
 * Known metrics: unit and the physically plausible range a value must fall in.
 * A value outside it is a sensor fault or a unit mistake, never a hazard to act on.
 * Unknown, well-formed metrics are accepted without a unit.
 */
export interface MetricSpec {
  unit: string;
  type: 'number' | 'boolean';
  min?: number;
  max?: number;
  /** Chinese label for the console. */
  label: string;
}

export const METRICS: ReadonlyMap<string, MetricSpec> = new Map<string, MetricSpec>([
  ['water_level', { unit: 'm', type: 'number', min: -5, max: 50, label: '水位' }],
  ['rainfall', { unit: 'mm/h', type: 'number', min: 0, max: 500, label: '降雨量' }],
  ['smoke', { unit: '%obs/m', type: 'number', min: 0, max: 100, label: '烟雾浓度' }],
  ['gas_lel', { unit: '%LEL', type: 'number', min: 0, max: 100, label: '可燃气体' }],
  ['co', { unit: 'ppm', type: 'number', min: 0, max: 10_000, label: '一氧化碳' }],
  ['temperature', { unit: '°C', type: 'number', min: -50, max: 1000, label: '温度' }],
  ['humidity', { unit: '%', type: 'number', min: 0, max: 100, label: '湿度' }],
  ['noise', { unit: 'dBA', type: 'number', min: 0, max: 194, label: '噪声' }],
  ['pm25', { unit: 'µg/m³', type: 'number', min: 0, max: 5000, label: 'PM2.5' }],
  ['pm10', { unit: 'µg/m³', type: 'number', min: 0, max: 5000, label: 'PM10' }],
  ['manhole_tilt', { unit: '°', type: 'number', min: 0, max: 180, label: '井盖倾角' }],
  ['manhole_open', { unit: 'bool', type: 'boolean', label: '井盖开启' }],
  ['battery_v', { unit: 'V', type: 'number', min: 0, max: 60, label: '电池电压' }],
  ['crowd_count', { unit: 'persons', type: 'number', min: 0, max: 1_000_000, label: '人流量' }],
  ['wind_speed', { unit: 'm/s', type: 'number', min: 0, max: 120, label: '风速' }],
  ['tilt', { unit: '°', type: 'number', min: 0, max: 180, label: '倾斜角' }],
]);

export type MetricCheck =
  | { ok: true; value: number; unit: string | undefined }
  | { ok: false; code: 'SW_ERR_METRIC_RANGE' | 'SW_ERR_METRIC_TYPE'; args: unknown[] };

/** Checks one metric value against the catalogue and normalizes booleans to 1/0. */
export function checkMetric(metric: string, raw: number | boolean): MetricCheck {
  const spec = METRICS.get(metric);
  if (!spec) {
    return typeof raw === 'boolean' ? { ok: true, value: raw ? 1 : 0, unit: undefined } : { ok: true, value: raw, unit: undefined };
  }
  if (spec.type === 'boolean') {
    if (typeof raw !== 'boolean' && raw !== 0 && raw !== 1) return { ok: false, code: 'SW_ERR_METRIC_TYPE', args: [metric, 'boolean (or 0/1)'] };
    return { ok: true, value: raw === true || raw === 1 ? 1 : 0, unit: spec.unit };
  }
  if (typeof raw !== 'number') return { ok: false, code: 'SW_ERR_METRIC_TYPE', args: [metric, 'number'] };
  if ((spec.min !== undefined && raw < spec.min) || (spec.max !== undefined && raw > spec.max)) {
    return { ok: false, code: 'SW_ERR_METRIC_RANGE', args: [metric, raw, `[${spec.min}, ${spec.max}] ${spec.unit}`] };
  }
  return { ok: true, value: raw, unit: spec.unit };
}
