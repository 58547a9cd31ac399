import { describe, expect, it } from 'vitest';
import { unmappedMetrics, metricForSenmlName, toMetricUnit } from './senml-names.js';
import { decodeSenml } from './senml.js';
import type { DecodeContext } from './decode.js';

const now = Date.UTC(2026, 10, 21, 8, 0, 0);
const nowS = now / 1000;
const ctx: DecodeContext = {
  deviceId: 'wx-1',
  ref: 'ref-1',
  receivedAt: now,
  maxReadingAgeMs: 7 * 86_400_000,
  maxPayloadBytes: 4096,
  maxClockSkewMs: 5 * 60_000,
};
const buf = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const decode = (v: unknown) => decodeSenml(buf(v), ctx);
const codes = (r: { rejections: { code: string }[] }): string[] => r.rejections.map((e) => e.code);
const triples = (r: ReturnType<typeof decode>) => r.items.map((i) => [i.metric, i.value, i.ts]);

describe('decodeSenml: resolving records (RFC 8428 §4.6)', () => {
  it('reads a single record measured "now" with no time', () => {
    const r = decode([{ n: 'urn:dev:mac:0024befffe804ff1:temp', u: 'Cel', v: 21.5 }]);
    expect(r.rejections).toEqual([]);
    expect(r.items).toEqual([{ deviceId: 'wx-1', metric: 'temperature', value: 21.5, unit: '°C', ts: now, receivedAt: now, ref: 'ref-1', index: 0 }]);
  });

  it('carries base name, base time and base unit forward until they are set again', () => {
    const r = decode([
      { bn: 'urn:dev:ow:10e2073a0108006:', bt: nowS - 120, bu: 'Cel', n: 'temperature', v: 20 },
      { n: 'temperature', t: 60, v: 20.5 },
      { n: 'humidity', u: '%RH', t: 60, v: 71 },
      { bn: 'urn:dev:ow:10e2073a0108006/', bu: 'm', n: 'level', t: 120, v: 0.12 },
      { n: 'level', t: 90, v: 0.11 },
    ]);
    expect(r.rejections).toEqual([]);
    expect(triples(r)).toEqual([
      ['temperature', 20, now - 120_000],
      ['temperature', 20.5, now - 60_000],
      ['humidity', 71, now - 60_000],
      ['water_level', 0.11, now - 30_000],
      ['water_level', 0.12, now],
    ]);
  });

  it('adds the base value to numbers, and counts times below 2**28 from the arrival of the publish', () => {
    const r = decode([
      { bn: 'pump-7:', bv: 0.1, n: 'level', u: 'm', t: -30, v: 0.05 },
      { n: 'level', u: 'm', v: 0.07 },
      { bt: -10, n: 'level', u: 'm', t: 5, v: 0 },
    ]);
    expect(r.rejections).toEqual([]);
    expect(triples(r)).toEqual([
      ['water_level', 0.15, now - 30_000],
      ['water_level', 0.1, now - 5_000],
      ['water_level', 0.17, now],
    ]);
  });

  it('puts the resolved records in chronological order', () => {
    const r = decode([
      { bn: 'x:', bt: nowS, n: 'rain', u: 'mm/h', v: 3 },
      { n: 'rain', u: 'mm/h', t: -120, v: 1 },
      { n: 'rain', u: 'mm/h', t: -60, v: 2 },
    ]);
    expect(triples(r)).toEqual([
      ['rainfall', 1, now - 120_000],
      ['rainfall', 2, now - 60_000],
      ['rainfall', 3, now],
    ]);
  });

  it('converts registered units to the metric unit and takes booleans as 1/0', () => {
    const r = decode([
      { bn: 'dev:', n: 'temperature', u: 'K', v: 300.15 },
      { n: 'level', u: 'cm', v: 42 },
      { n: 'battery', u: 'mV', v: 3650 },
      { n: 'wind_speed', u: 'km/h', v: 36 },
      { n: 'noise', u: 'Bspl', v: 6.5 },
      { n: 'manhole_open', vb: true },
      { n: 'pm2.5', u: 'ug/m3', v: 35 },
    ]);
    expect(r.rejections).toEqual([]);
    expect(r.items.map((i) => [i.metric, i.value, i.unit])).toEqual([
      ['temperature', 27, '°C'],
      ['water_level', 0.42, 'm'],
      ['battery_v', 3.65, 'V'],
      ['wind_speed', 10, 'm/s'],
      ['noise', 65, 'dBA'],
      ['manhole_open', 1, 'bool'],
      ['pm25', 35, 'µg/m³'],
    ]);
  });

  it('ignores labels it does not know (§4.4) but refuses the pack for a must-understand label ending in "_"', () => {
    expect(triples(decode([{ n: 'temp', u: 'Cel', v: 20, vendor_note: 'x', l: '[]' }]))).toEqual([['temperature', 20, now]]);
    const r = decode([{ n: 'temp', u: 'Cel', v: 20 }, { n: 'temp', u: 'Cel', v: 21, t: 1, crit_: 1 }]);
    expect(r.items).toEqual([]);
    expect(codes(r)).toEqual(['SW_ERR_PAYLOAD_SCHEMA']);
    expect(r.rejections[0]!.message).toContain('[1].crit_');
  });

  it('refuses a pack of a newer SenML version', () => {
    const r = decode([{ bver: 11, n: 'temp', u: 'Cel', v: 20 }]);
    expect(codes(r)).toEqual(['SW_ERR_PAYLOAD_SCHEMA']);
    expect(r.rejections[0]!.message).toContain('version 11');
    expect(codes(decode([{ bver: 10, n: 'temp', u: 'Cel', v: 20 }]))).toEqual([]);
  });
});

describe('decodeSenml: refusing records one by one', () => {
  it('keeps the valid records and gives each refused one its own code', () => {
    const r = decode([
      { bn: 'urn:dev:sw:wx-1:', n: 'temperature', u: 'Cel', v: 22 },
      { n: 'temperature', u: 'degF', v: 72 },
      { n: 'luminosity', u: 'lx', v: 300 },
      { n: 'humidity', u: '%RH', v: 180 },
      { n: 'humidity', vs: 'wet' },
      { n: 'humidity', u: '%RH', v: 60, vb: true },
      { n: 'humidity', u: '%RH', s: 100 },
      { n: 'temperature', u: 'Cel', v: 'warm' },
      { n: 'temperature', u: 'Cel', v: 23, t: nowS + 3600 },
      { n: 'bad name!', v: 1 },
      { n: 'humidity', u: '%RH', v: 61 },
    ]);
    expect(r.items.map((i) => [i.metric, i.value])).toEqual([
      ['temperature', 22],
      ['humidity', 61],
    ]);
    expect(codes(r)).toEqual([
      'SW_ERR_UNIT_UNSUPPORTED',
      'SW_ERR_METRIC_UNKNOWN',
      'SW_ERR_METRIC_RANGE',
      'SW_ERR_METRIC_TYPE',
      'SW_ERR_PAYLOAD_SCHEMA',
      'SW_ERR_METRIC_TYPE',
      'SW_ERR_PAYLOAD_SCHEMA',
      'SW_ERR_TS_RANGE',
      'SW_ERR_PAYLOAD_SCHEMA',
    ]);
    expect(r.rejections[0]!.message).toBe('metric temperature: unit "degF" is not accepted, use one of Cel, K, °C');
    expect(r.rejections[1]!.message).toContain('"urn:dev:sw:wx-1:luminosity"');
    expect(r.rejections[5]!.message).toContain('a record with only a sum ("s") is not stored');
    expect(r.rejections[6]!.message).toContain('[7].v');
  });

  it('stops at a record whose base fields are invalid: the records after it depend on them', () => {
    const r = decode([{ bn: 'a:', n: 'temp', u: 'Cel', v: 1 }, { bn: 42, n: 'temp', v: 2 }, { n: 'temp', u: 'Cel', v: 3 }]);
    expect(r.items.map((i) => i.value)).toEqual([1]);
    expect(codes(r)).toEqual(['SW_ERR_PAYLOAD_SCHEMA']);
    expect(r.rejections[0]!.message).toMatch(/: \[1\]\.bn: .*records \[2\] to \[2\] depend on it/);
  });

  it.each([
    ['an object instead of a pack', { n: 'temp', v: 1 }],
    ['an empty pack', []],
    ['a record that is not an object', [1]],
    ['a record without a name', [{ v: 1 }]],
    ['Infinity (1e999)', '[{"n":"temp","u":"Cel","v":1e999}]'],
  ])('refuses %s', (_name, payload) => {
    const r = decode(payload);
    expect(r.items).toEqual([]);
    expect(codes(r)).toEqual(['SW_ERR_PAYLOAD_SCHEMA']);
  });

  it('checks the byte cap before parsing', () => {
    expect(codes(decodeSenml(Buffer.alloc(4097, 0x20), ctx))).toEqual(['SW_ERR_PAYLOAD_TOO_LARGE']);
    expect(codes(decode('[{"n":'))).toEqual(['SW_ERR_PAYLOAD_JSON']);
  });
});

describe('SenML names and units', () => {
  it('maps the last segment of a name, case- and separator-insensitively', () => {
    expect(metricForSenmlName('urn:dev:mac:0024befffe804ff1:Temp')).toBe('temperature');
    expect(metricForSenmlName('urn:dev:ow:10e2073a01080063')).toBeUndefined();
    expect(metricForSenmlName('site-3/pit/water-level')).toBe('water_level');
    expect(metricForSenmlName('gas_lel')).toBe('gas_lel');
    expect(metricForSenmlName('__proto__')).toBeUndefined();
    expect(metricForSenmlName('constructor')).toBeUndefined();
  });

  it('covers every metric of the catalogue', () => {
    expect(unmappedMetrics()).toEqual([]);
  });

  it('converts without inventing precision', () => {
    expect(toMetricUnit('water_level', 'cm', 0.1 * 3)).toEqual({ ok: true, value: 0.003 });
    expect(toMetricUnit('water_level', undefined, 1.5)).toEqual({ ok: true, value: 1.5 });
    expect(toMetricUnit('water_level', 'ft', 1)).toEqual({ ok: false, accepted: 'm, cm, mm' });
  });
});
