import { describe, expect, it } from 'vitest';
import { decodeCameraEvent, decodeStatus, decodeTelemetry, type DecodeContext } from './decode.js';

const now = Date.UTC(2026, 10, 21, 8, 0, 0);
const ctx: DecodeContext = {
  deviceId: 'wl-1',
  ref: 'ref-1',
  receivedAt: now,
  maxReadingAgeMs: 7 * 86_400_000,
  maxPayloadBytes: 1024,
  maxClockSkewMs: 5 * 60_000,
};
const buf = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const codes = (r: { rejections: { code: string }[] }): string[] => r.rejections.map((e) => e.code);

describe('decodeTelemetry', () => {
  it('normalizes one object: units, booleans to 1/0, arrival time as default ts, no location unless stated', () => {
    const r = decodeTelemetry(buf({ values: { water_level: 0.42, manhole_open: true, vendor_x: 7 } }), ctx);
    expect(r.rejections).toEqual([]);
    expect(r.items).toEqual([
      { deviceId: 'wl-1', metric: 'water_level', value: 0.42, unit: 'm', ts: now, receivedAt: now, ref: 'ref-1', index: 0 },
      { deviceId: 'wl-1', metric: 'manhole_open', value: 1, unit: 'bool', ts: now, receivedAt: now, ref: 'ref-1', index: 0 },
      { deviceId: 'wl-1', metric: 'vendor_x', value: 7, ts: now, receivedAt: now, ref: 'ref-1', index: 0 },
    ]);
    expect(r.positions).toEqual([]);
  });

  it('refuses a "__proto__" metric, which schema records would skip without a word', () => {
    const r = decodeTelemetry(buf('[{"values": {"noise": 40, "__proto__": {"noise": 1}}}, {"values": {"noise": 41}}, {"values": {"\\u005f_proto__": 2}}]'), ctx);
    expect(r.items.map((i) => i.value)).toEqual([41]);
    expect(r.rejections.map((e) => e.message)).toEqual([
      'payload does not match the schema: [0].values.__proto__: must match ^[a-z][a-z0-9_]{0,63}$',
      'payload does not match the schema: [2].values.__proto__: must match ^[a-z][a-z0-9_]{0,63}$',
    ]);
    expect(({} as Record<string, unknown>).noise).toBeUndefined();
  });

  it('takes ts as epoch ms or RFC 3339, and a stated loc as a position claim of its object', () => {
    const r = decodeTelemetry(
      buf([
        { ts: now - 1000, values: { smoke: 1 } },
        { ts: '2026-11-21T15:59:00+08:00', values: { smoke: 2 }, loc: { lat: 23.2, lon: 113.4 } },
      ]),
      ctx,
    );
    expect(r.items.map((i) => [i.ts, i.value, i.loc, i.index])).toEqual([
      [now - 1000, 1, undefined, 0],
      [now - 60_000, 2, { lat: 23.2, lon: 113.4 }, 1],
    ]);
    expect(r.positions).toEqual([{ deviceId: 'wl-1', ts: now - 60_000, loc: { lat: 23.2, lon: 113.4 }, records: [1] }]);
  });

  it('names the object of every refusal in details.record', () => {
    const r = decodeTelemetry(buf([{ values: { smoke: 1 } }, { values: { smoke: 'x' } }, { ts: 5, values: { smoke: 2 } }, { values: { water_level: 99 } }]), ctx);
    expect(r.rejections.map((e) => [e.code, e.details])).toEqual([
      ['SW_ERR_PAYLOAD_SCHEMA', { record: 1 }],
      ['SW_ERR_TS_RANGE', { record: 2 }],
      ['SW_ERR_METRIC_RANGE', { record: 3 }],
    ]);
  });

  it('refuses times more than the reading age limit before arrival', () => {
    const old = decodeTelemetry(buf({ ts: now - 8 * 86_400_000, values: { smoke: 1 } }), ctx);
    expect(codes(old)).toEqual(['SW_ERR_TS_RANGE']);
    expect(old.rejections[0]!.message).toContain('2026-11-14T08:00:00.000Z to 2026-11-21T08:05:00.000Z');
    expect(codes(decodeTelemetry(buf({ ts: now - 6 * 86_400_000, values: { smoke: 1 } }), ctx))).toEqual([]);
  });

  it.each([
    ['malformed JSON', '{"values":', 'SW_ERR_PAYLOAD_JSON'],
    ['a string value', { values: { water_level: 'high' } }, 'SW_ERR_PAYLOAD_SCHEMA'],
    ['an extra key', { values: { smoke: 1 }, extra: 1 }, 'SW_ERR_PAYLOAD_SCHEMA'],
    ['no values', { values: {} }, 'SW_ERR_PAYLOAD_SCHEMA'],
    ['1e999 (Infinity)', '{"values":{"smoke":1e999}}', 'SW_ERR_PAYLOAD_SCHEMA'],
    ['"NaN"', '{"values":{"smoke":"NaN"}}', 'SW_ERR_PAYLOAD_SCHEMA'],
    ['a __proto__ metric', '{"values":{"__proto__":1}}', 'SW_ERR_PAYLOAD_SCHEMA'],
    ['an upper-case metric', { values: { Smoke: 1 } }, 'SW_ERR_PAYLOAD_SCHEMA'],
    ['a nested value', { values: { smoke: { deep: [1] } } }, 'SW_ERR_PAYLOAD_SCHEMA'],
    ['a bare number', '42', 'SW_ERR_PAYLOAD_SCHEMA'],
    ['null', 'null', 'SW_ERR_PAYLOAD_SCHEMA'],
    ['an empty array', '[]', 'SW_ERR_PAYLOAD_SCHEMA'],
    ['a future timestamp', { ts: now + 3_600_000, values: { smoke: 1 } }, 'SW_ERR_TS_RANGE'],
    ['a 1970 timestamp', { ts: 1000, values: { smoke: 1 } }, 'SW_ERR_TS_RANGE'],
    ['a date without offset', { ts: '2026-11-21T08:00:00', values: { smoke: 1 } }, 'SW_ERR_PAYLOAD_SCHEMA'],
    ['a latitude of 91', { values: { smoke: 1 }, loc: { lat: 91, lon: 0 } }, 'SW_ERR_PAYLOAD_SCHEMA'],
    ['an implausible water level', { values: { water_level: 9999 } }, 'SW_ERR_METRIC_RANGE'],
    ['a number for a boolean metric', { values: { manhole_open: 3 } }, 'SW_ERR_METRIC_TYPE'],
    ['a boolean for a number metric', { values: { smoke: true } }, 'SW_ERR_METRIC_TYPE'],
  ])('rejects %s with a coded error', (_name, payload, code) => {
    const r = decodeTelemetry(buf(payload), ctx);
    expect(r.items).toEqual([]);
    expect(codes(r)).toEqual([code]);
  });

  it('checks the byte cap before parsing and refuses invalid UTF-8', () => {
    expect(codes(decodeTelemetry(Buffer.alloc(1025, 0x20), ctx))).toEqual(['SW_ERR_PAYLOAD_TOO_LARGE']);
    expect(codes(decodeTelemetry(Buffer.from([0x7b, 0xff, 0x7d]), ctx))).toEqual(['SW_ERR_PAYLOAD_ENCODING']);
  });

  it('keeps the valid parts of a payload when other parts are refused', () => {
    const r = decodeTelemetry(buf([{ values: { smoke: 1, water_level: 999 } }, { values: { smoke: 'x' } }, { values: { smoke: 3 } }]), ctx);
    expect(r.items.map((i) => i.value)).toEqual([1, 3]);
    expect(codes(r)).toEqual(['SW_ERR_METRIC_RANGE', 'SW_ERR_PAYLOAD_SCHEMA']);
    expect(r.rejections[1]!.message).toContain('[1].values.smoke');
  });

  it('refuses arrays over the batch limit', () => {
    const r = decodeTelemetry(buf(Array.from({ length: 1001 }, () => ({ values: { smoke: 1 } }))), { ...ctx, maxPayloadBytes: 1 << 20 });
    expect(codes(r)).toEqual(['SW_ERR_PAYLOAD_SCHEMA']);
  });
});

describe('decodeCameraEvent', () => {
  it('normalizes an analytics event', () => {
    const r = decodeCameraEvent(buf({ type: 'crowd', count: 120, score: 0.9, id: 'e-1' }), ctx);
    expect(r.items).toEqual([{ id: 'e-1', deviceId: 'wl-1', type: 'crowd', count: 120, score: 0.9, ts: now, receivedAt: now, ref: 'ref-1', index: 0 }]);
  });

  it('refuses a score above 1', () => {
    expect(codes(decodeCameraEvent(buf({ type: 'fire', score: 3 }), ctx))).toEqual(['SW_ERR_PAYLOAD_SCHEMA']);
  });
});

describe('decodeStatus', () => {
  it('accepts online/offline as text or JSON string', () => {
    expect(decodeStatus(buf('online'))).toBe('online');
    expect(decodeStatus(buf('"offline"'))).toBe('offline');
    expect(() => decodeStatus(buf('maybe'))).toThrow(expect.objectContaining({ code: 'SW_ERR_PAYLOAD_SCHEMA' }));
  });
});
