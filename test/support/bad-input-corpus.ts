/**
 * A generated corpus of device publishes, bad and good, for the bad-input-at-volume test. Each
 * case knows, by construction (never by asking the code under test), whether it must be refused
 * and how many readings it must leave in the store: a bad case is built so that the contract
 * cannot accept it (a key no schema allows, a value no range admits, bytes that are not UTF-8),
 * a good one so that every reading in it is valid and has a time of its own.
 */
import fc from 'fast-check';
import { METRICS } from '../../core/metric-catalog.js';

/** What a case needs from the device that sends it. */
export interface SendContext {
  deviceId: string;
  /** Another provisioned device, for topics the sender may not use. */
  otherId: string;
  /** A reading time never used before by this device (ms). */
  nextTs(): number;
}

export interface Publish {
  topic: string;
  payload: Buffer;
}

export interface Case {
  family: string;
  /** Whether the publish must be answered with at least one coded error. */
  refused: boolean;
  /** Readings the publish must add to the store. */
  readings: number;
  build(ctx: SendContext): Publish;
}

/** The platform's payload limit in the test (STREETWATCH_MAX_PAYLOAD). */
export const CORPUS_MAX_PAYLOAD = 64 * 1024;

const KNOWN_NUMERIC = [...METRICS].filter(([, s]) => s.type === 'number' && s.min !== undefined && s.max !== undefined);
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const telemetry = (ctx: SendContext): string => `v1/devices/${ctx.deviceId}/telemetry`;

/**
 * Well-formed names outside the catalogue a device may use: a fixed set, so that with the 16
 * catalogued metrics a device stays under its limit of distinct names (64, the default).
 */
const UNKNOWN_NAMES = fc.sample(fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/).filter((n) => !METRICS.has(`x_${n}`)), { numRuns: 40, seed: 7 }).map((n) => `x_${n}`);

/** A metric and a value it accepts: a known metric in range, or a well-formed unknown name. */
const validMetric: fc.Arbitrary<[string, number | boolean]> = fc.oneof(
  fc.constantFrom(...KNOWN_NUMERIC).chain(([name, spec]) => fc.double({ min: spec.min!, max: spec.max!, noNaN: true, noDefaultInfinity: true }).map((v): [string, number] => [name, v])),
  fc.boolean().map((b): [string, boolean] => ['manhole_open', b]),
  fc.constantFrom(...UNKNOWN_NAMES).chain((name) => fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()).map((v): [string, number | boolean] => [name, v])),
);
const validValues = fc.uniqueArray(validMetric, { minLength: 1, maxLength: 6, selector: ([name]) => name }).map((entries) => Object.fromEntries(entries));
const location = fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) });

/** One valid telemetry object, with a time of its own. The devices are fixed: no `loc`. */
const validObject = fc.record({ values: validValues });
type ValidObject = { values: Record<string, number | boolean> };
const withTs = (o: ValidObject, ctx: SendContext) => ({ ts: ctx.nextTs(), values: o.values });

/** A fixed device stating where it is: its readings are stored where it was provisioned, the location refused. */
const fixedWithLoc: fc.Arbitrary<Case> = fc.tuple(validObject, location).map(
  ([o, loc]): Case => ({ family: 'location from a fixed device', refused: true, readings: Object.keys(o.values).length, build: (ctx) => ({ topic: telemetry(ctx), payload: json({ ...withTs(o, ctx), loc }) }) }),
);

const validTelemetry: fc.Arbitrary<Case> = fc.oneof(
  validObject.map((o): Case => ({ family: 'valid telemetry', refused: false, readings: Object.keys(o.values).length, build: (ctx) => ({ topic: telemetry(ctx), payload: json(withTs(o, ctx)) }) })),
  fc.array(validObject, { minLength: 1, maxLength: 20 }).map(
    (list): Case => ({
      family: 'valid telemetry batch',
      refused: false,
      readings: list.reduce((n, o) => n + Object.keys(o.values).length, 0),
      build: (ctx) => ({ topic: telemetry(ctx), payload: json(list.map((o) => withTs(o, ctx))) }),
    }),
  ),
);

/** SenML records of known metrics in range, absolute times in seconds with millisecond precision. */
const validSenml: fc.Arbitrary<Case> = fc
  .array(
    fc.constantFrom(['temperature', 'Cel', -50, 1000], ['humidity', '%RH', 0, 100], ['noise', 'dBA', 0, 194], ['water_level', 'm', -5, 50], ['rainfall', 'mm/h', 0, 500]).chain(([n, u, min, max]) =>
      fc.integer({ min: (min as number) * 10, max: (max as number) * 10 }).map((v) => ({ n: n as string, u: u as string, v: v / 10 })),
    ),
    { minLength: 1, maxLength: 10 },
  )
  .map(
    (records): Case => ({
      family: 'valid senml',
      refused: false,
      readings: records.length,
      build: (ctx) => ({ topic: `v1/devices/${ctx.deviceId}/senml`, payload: json(records.map((r, i) => ({ ...(i === 0 ? { bn: `urn:dev:sw:${ctx.deviceId}:` } : {}), t: ctx.nextTs() / 1000, ...r }))) }),
    }),
  );

/** Valid objects around one that cannot pass (a key the schema does not allow): the valid ones are kept. */
const mixedBatch: fc.Arbitrary<Case> = fc.tuple(fc.array(validObject, { minLength: 1, maxLength: 5 }), fc.nat({ max: 5 })).map(
  ([list, at]): Case => ({
    family: 'mixed batch',
    refused: true,
    readings: list.reduce((n, o) => n + Object.keys(o.values).length, 0),
    build: (ctx) => {
      const objects: unknown[] = list.map((o) => withTs(o, ctx));
      objects.splice(Math.min(at, objects.length), 0, { ts: ctx.nextTs(), values: { noise: 40 }, unexpected: true });
      return { topic: telemetry(ctx), payload: json(objects) };
    },
  }),
);

const refused = (family: string, payload: fc.Arbitrary<Buffer | string>, topic: (ctx: SendContext) => string = telemetry): fc.Arbitrary<Case> =>
  payload.map((p): Case => ({ family, refused: true, readings: 0, build: (ctx) => ({ topic: topic(ctx), payload: typeof p === 'string' ? Buffer.from(p) : p }) }));

/** Valid JSON cut short, so that it no longer parses. */
const truncatedJson = fc
  .tuple(fc.jsonValue({ maxDepth: 3 }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([v, cut]) => {
    const text = JSON.stringify({ values: v });
    return text.slice(0, Math.min(text.length - 1, Math.floor(text.length * cut)));
  });
const garbage = fc.string({ minLength: 1, maxLength: 200 }).map((s) => `@${s}`);
const badJson = fc.oneof(
  truncatedJson,
  garbage,
  fc.constantFrom('{"values": {"noise": NaN}}', '{"values": {"noise": Infinity}}', "{'values': {'noise': 1}}", '{"values": {"noise": 1},}', '', '\u0000', '{"values": {"noise": 0x10}}'),
);

const notANumber = fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }));
const wrongTypes = fc.oneof(
  fc.tuple(fc.constantFrom(...KNOWN_NUMERIC.map(([n]) => n)), notANumber).map(([m, v]) => JSON.stringify({ values: { [m]: v } })),
  notANumber.map((ts) => JSON.stringify({ ts: ts ?? 'yesterday', values: { noise: 40 } })),
  fc.constantFrom('{"values": {"noise": "NaN"}}', '{"values": {"noise": "1e3"}}', '{"values": []}', '{"values": {}}', '{"values": null}', '[]', '"values"', '42', 'null', 'true', '{"values": {"manhole_open": "yes"}}', '{"values": {"noise": 40}, "loc": {"lat": "north", "lon": 1}}'),
);
const outOfRange = fc.oneof(
  fc.constantFrom(...KNOWN_NUMERIC).chain(([name, spec]) =>
    fc.oneof(fc.double({ min: spec.max! + 1, max: 1e300, noNaN: true }), fc.double({ min: -1e300, max: spec.min! - 1, noNaN: true })).map((v) => JSON.stringify({ values: { [name]: v } })),
  ),
  fc.constantFrom('{"values": {"noise": 1e999}}', '{"values": {"noise": -1e999}}', '{"ts": 1e999, "values": {"noise": 1}}', '{"ts": 946684799999, "values": {"noise": 1}}', '{"ts": 99999999999999, "values": {"noise": 1}}', '{"values": {"noise": 40}, "loc": {"lat": 91, "lon": 0}}'),
);
const extraKeys = fc
  .tuple(fc.stringMatching(/^[a-z]{1,10}$/).filter((k) => !['ts', 'values', 'loc'].includes(k)), fc.jsonValue({ maxDepth: 2 }))
  .map(([k, v]) => JSON.stringify({ values: { noise: 40 }, [k]: v }));
const protoKeys = fc.constantFrom(
  '{"__proto__": {"values": {"noise": 40}}}',
  '{"values": {"__proto__": {"noise": 40}}}',
  '{"values": {"noise": 40}, "__proto__": {"polluted": true}}',
  '{"values": {"__proto__": 1}}',
  '{"constructor": {"prototype": {"polluted": true}}, "values": {"noise": 40}}',
  '[{"__proto__": {"polluted": true}}]',
  '{"values": {"prototype": 1, "__proto__": 2}}',
);
const deepNesting = fc.integer({ min: 100, max: 10_000 }).chain((depth) =>
  fc.constantFrom(`${'['.repeat(depth)}${']'.repeat(depth)}`, `{"values": {"noise": ${'['.repeat(depth)}1${']'.repeat(depth)}}}`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
);
const hugeArrays = fc.oneof(
  fc.integer({ min: 1001, max: 5000 }).map((n) => `[${Array.from({ length: n }, () => '{}').join(',')}]`),
  fc.integer({ min: 257, max: 600 }).map((n) => JSON.stringify({ values: Object.fromEntries(Array.from({ length: n }, (_, i) => [`m_${i}`, i])) })),
  fc.integer({ min: 1001, max: 3000 }).map((n) => JSON.stringify(Array.from({ length: n }, () => ({ n: 'noise', v: 40 })))),
);
const oversize = fc.integer({ min: CORPUS_MAX_PAYLOAD + 1, max: CORPUS_MAX_PAYLOAD + 40_000 }).map((n) => Buffer.alloc(n, 0x20));
/** Byte sequences that are not UTF-8: stray continuation bytes, overlong forms, surrogates, 0xFF. */
const invalidUtf8 = fc
  .tuple(fc.string({ maxLength: 40 }), fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]), fc.string({ maxLength: 40 }))
  .map(([a, bad, b]) => Buffer.concat([Buffer.from(`{"values": {"noise": 40}, "note": "${a}`), Buffer.from(bad), Buffer.from(`${b}"}`)]));
const badStatus = fc.oneof(fc.constantFrom('on', 'ONLINE', '', '{"status": "online"}', '"gone"', 'online\u0000'), fc.string({ minLength: 33, maxLength: 200 }));
const badSenml = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ pack: v })),
  fc.constantFrom('[]', '[{"n": "noise", "v": 40, "x_": 1}]', '[{"bver": 99, "n": "noise", "v": 40}]', '[{"n": "noise", "vs": "loud"}]', '[{"n": "no such metric", "v": 1}]', '[{"n": "noise", "u": "furlong", "v": 1}]'),
);
const badEvents = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ type: 'crowd', unexpected: v })),
  fc.constantFrom('[]', '{}', '{"type": "Crowd!"}', '{"type": "crowd", "score": 2}', '{"type": "crowd", "count": -1}'),
);
const badFrigate = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ type: 'new', before: v }));

/** Topics the device may not publish to, or that are no part of the contract. */
const badTopics: fc.Arbitrary<Case> = fc.oneof(
  fc.constantFrom<(ctx: SendContext) => string>(
    (c) => `v1/devices/${c.otherId}/telemetry`,
    (c) => `v1/devices/${c.deviceId}/errors`,
    () => '$SYS/broker/new/clients',
    () => 'v1/subcenters/north/tickets',
    () => 'v2/devices/x/telemetry',
    (c) => `v1/devices/${c.deviceId}//telemetry`,
    (c) => `v1/devices/${c.deviceId}/telemetry/`,
    (c) => `v1/devices/${c.deviceId}/Telemetry`,
    (c) => `v1/devices/${c.deviceId}/__proto__`,
    (c) => `/v1/devices/${c.deviceId}/telemetry`,
    (c) => `v1/devices/${c.deviceId}/温度`,
    (c) => `v1/devices/${c.deviceId}/telemetry\u00a0`,
  ).map((topic): Case => ({ family: 'forbidden or unknown topic', refused: true, readings: 0, build: (ctx) => ({ topic: topic(ctx), payload: json({ ts: ctx.nextTs(), values: { noise: 40 } }) }) })),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/[+#\u0000]/.test(s) && !['telemetry', 'senml', 'events', 'status', 'errors', 'frigate'].includes(s.split('/')[0]!)), fc.integer({ min: 0, max: 5000 }))
    .map(([level, pad]): Case => ({ family: 'unknown topic', refused: true, readings: 0, build: (ctx) => ({ topic: `v1/devices/${ctx.deviceId}/${level}${'z'.repeat(pad)}`, payload: json({ values: { noise: 40 } }) }) })),
);

/** The whole corpus: `size` cases, about a third of them valid, in a seeded order. */
export function generateCorpus(size: number, seed: number): Case[] {
  const senml = (ctx: SendContext) => `v1/devices/${ctx.deviceId}/senml`;
  const status = (ctx: SendContext) => `v1/devices/${ctx.deviceId}/status`;
  const arbitrary: fc.Arbitrary<Case> = fc.oneof(
    { weight: 30, arbitrary: validTelemetry },
    { weight: 6, arbitrary: validSenml },
    { weight: 6, arbitrary: mixedBatch },
    { weight: 2, arbitrary: fixedWithLoc },
    { weight: 8, arbitrary: refused('malformed JSON', badJson) },
    { weight: 8, arbitrary: refused('wrong types', wrongTypes) },
    { weight: 6, arbitrary: refused('out of range, 1e999', outOfRange) },
    { weight: 6, arbitrary: refused('extra keys', extraKeys) },
    { weight: 4, arbitrary: refused('__proto__ keys', protoKeys) },
    { weight: 3, arbitrary: refused('deep nesting', deepNesting) },
    { weight: 2, arbitrary: refused('huge arrays', hugeArrays) },
    { weight: 1, arbitrary: refused('oversize payload', oversize) },
    { weight: 5, arbitrary: refused('invalid UTF-8', invalidUtf8) },
    { weight: 2, arbitrary: refused('bad status', badStatus, status) },
    { weight: 4, arbitrary: refused('bad senml', badSenml, senml) },
    { weight: 3, arbitrary: refused('bad camera event', badEvents, (c) => `v1/devices/${c.deviceId}/events`) },
    { weight: 2, arbitrary: refused('bad frigate event', badFrigate, (c) => `v1/devices/${c.deviceId}/frigate/events`) },
    { weight: 6, arbitrary: badTopics },
  );
  return fc.sample(arbitrary, { numRuns: size, seed });
}
