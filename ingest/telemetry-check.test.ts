import { describe, expect, it } from 'vitest';
import { MAX_METRICS_PER_READING, TelemetryObject } from '../core/schemas.js';
import { decodeTelemetry, type DecodeContext } from './decode.js';
import { validTelemetryObject } from './telemetry-check.js';

const NOW = Date.UTC(2026, 10, 21, 8);

/** The compiled check gives what the schema gives, or leaves the object to it. */
function expectAgreement(text: string): 'compiled' | 'schema' {
  const item: unknown = JSON.parse(text);
  const fast = validTelemetryObject(item);
  const parsed = TelemetryObject.safeParse(item);
  if (fast === undefined) return 'schema';
  expect(parsed.success, text).toBe(true);
  // Same values and same key order (what is serialized onto the bus).
  expect(JSON.stringify(fast), text).toBe(JSON.stringify(parsed.data));
  expect(fast, text).toEqual(parsed.data);
  return 'compiled';
}

const valid = [
  `{"values":{"noise":61.5}}`,
  `{"ts":${NOW},"values":{"noise":61.5,"door_open":true,"pm2_5":12}}`,
  `{"values":{"co":0.4},"ts":${NOW},"loc":{"lat":23.1,"lon":113.3}}`,
  `{"loc":{"lon":-180,"lat":90},"values":{"x":-0}}`,
  `{"ts":0,"values":{"a":false}}`,
  `{"ts":-0,"values":{"a":1e308}}`,
  `{"ts":9007199254740991,"values":{"${'m'.repeat(64)}":1}}`,
  `{"values":{${Array.from({ length: MAX_METRICS_PER_READING }, (_, i) => `"m${i}":${i}`).join(',')}}}`,
];

// Each one refused by the schema (SW_ERR_PAYLOAD_SCHEMA and its message), or accepted only
// after a conversion the schema makes: the compiled check must leave every one to it.
const toSchema = [
  `{"ts":"2026-11-21T08:00:00Z","values":{"noise":1}}`,
  `{"ts":"2026-11-21T08:00:00","values":{"noise":1}}`,
  `{"ts":-1,"values":{"noise":1}}`,
  `{"ts":1.5,"values":{"noise":1}}`,
  `{"ts":9007199254740992,"values":{"noise":1}}`,
  `{"ts":1e400,"values":{"noise":1}}`,
  `{"ts":null,"values":{"noise":1}}`,
  `{"values":{}}`,
  `{"values":{${Array.from({ length: MAX_METRICS_PER_READING + 1 }, (_, i) => `"m${i}":${i}`).join(',')}}}`,
  `{"values":{"Noise":1}}`,
  `{"values":{"1noise":1}}`,
  `{"values":{"${'m'.repeat(65)}":1}}`,
  `{"values":{"noise":"61"}}`,
  `{"values":{"noise":null}}`,
  `{"values":{"noise":1e400}}`,
  `{"values":{"noise":[1]}}`,
  `{"values":{"noise":{"v":1}}}`,
  `{"values":[1]}`,
  `{"values":null}`,
  `{"values":"noise"}`,
  `{"ts":${NOW}}`,
  `{}`,
  `{"values":{"noise":1},"extra":1}`,
  `{"values":{"noise":1},"__proto__":{"x":1}}`,
  `{"values":{"__proto__":1}}`,
  `{"values":{"noise":1},"loc":{"lat":91,"lon":0}}`,
  `{"values":{"noise":1},"loc":{"lat":0,"lon":-180.5}}`,
  `{"values":{"noise":1},"loc":{"lat":0}}`,
  `{"values":{"noise":1},"loc":{"lat":0,"lon":0,"alt":3}}`,
  `{"values":{"noise":1},"loc":{"lat":"0","lon":0}}`,
  `{"values":{"noise":1},"loc":[0,0]}`,
  `{"values":{"noise":1},"loc":null}`,
  `[]`,
  `[{"values":{"noise":1}}]`,
  `null`,
  `"noise"`,
  `61.5`,
  `true`,
];

/** Small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('validTelemetryObject', () => {
  it('takes the valid objects with a numeric time, as the schema gives them', () => {
    for (const text of valid) expect(expectAgreement(text), text).toBe('compiled');
  });

  it('leaves every refusal and every conversion to the schema', () => {
    for (const text of toSchema) expect(expectAgreement(text), text).toBe('schema');
  });

  it('never accepts what the schema refuses, nor gives anything else than it, over random variations', () => {
    const rand = random(15);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const scalars: unknown[] = [0, -0, 1, -1, 1.5, 90, 90.0001, -180, 180.1, NOW, -NOW, 2 ** 53, 2 ** 53 - 1, 1e308, true, false, null, '', 'x', '1', [], {}, [1]];
    const keys = ['ts', 'values', 'loc', 'lat', 'lon', 'noise', 'Noise', 'a_1', '_a', '__proto__', 'constructor', 'toString', 'x'.repeat(64), 'x'.repeat(65)];
    const value = (depth: number): unknown => {
      if (depth === 0 || rand() < 0.4) return pick(scalars);
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 4); i > 0; i--) o[pick(keys)] = value(depth - 1);
      return rand() < 0.1 ? [o] : o;
    };
    const counts = { compiled: 0, schema: 0 };
    for (let i = 0; i < 20_000; i++) {
      // Mostly near-valid objects, so that both sides are exercised.
      const o: Record<string, unknown> = {};
      if (rand() < 0.8) o.ts = rand() < 0.7 ? NOW + Math.floor(rand() * 1000) : pick(scalars);
      if (rand() < 0.95) o.values = rand() < 0.7 ? { noise: rand() * 100, door_open: rand() < 0.5 } : value(2);
      if (rand() < 0.4) o.loc = rand() < 0.7 ? { lat: rand() * 200 - 100, lon: rand() * 400 - 200 } : value(2);
      if (rand() < 0.05) o[pick(keys)] = value(1);
      // Through JSON text, as devices send it (own `__proto__` keys included).
      const text = JSON.stringify(o).replace('"ts"', rand() < 0.05 ? '"__proto__"' : '"ts"');
      counts[expectAgreement(text)]++;
    }
    expect(counts.compiled).toBeGreaterThan(1_000);
    expect(counts.schema).toBeGreaterThan(1_000);
  });

  it('leaves the decoder\'s readings and coded refusals as they were', () => {
    const ctx: DecodeContext = { deviceId: 'd1', ref: 'r1', receivedAt: NOW, maxPayloadBytes: 65_536, maxClockSkewMs: 60_000, maxReadingAgeMs: 86_400_000 };
    const decoded = decodeTelemetry(
      Buffer.from(`[{"values":{"noise":61.5,"door_open":true},"loc":{"lon":113.3,"lat":23.1}},{"ts":1,"values":{"noise":1}},{"values":{"noise":1},"extra":1},{"values":{"noise":-5}},{"values":{"noise":true}}]`),
      ctx,
    );
    expect(decoded.items.map(({ metric, value, ts, loc, index }) => ({ metric, value, ts, loc, index }))).toEqual([
      { metric: 'noise', value: 61.5, ts: NOW, loc: { lat: 23.1, lon: 113.3 }, index: 0 },
      { metric: 'door_open', value: 1, ts: NOW, loc: { lat: 23.1, lon: 113.3 }, index: 0 },
    ]);
    expect(JSON.stringify(decoded.items[0]!.loc)).toBe('{"lat":23.1,"lon":113.3}');
    expect(decoded.rejections.map((e) => [e.code, e.details])).toEqual([
      ['SW_ERR_TS_RANGE', { record: 1 }],
      ['SW_ERR_PAYLOAD_SCHEMA', { record: 2 }],
      ['SW_ERR_METRIC_RANGE', { record: 3 }],
      ['SW_ERR_METRIC_TYPE', { record: 4 }],
    ]);
  });
});
