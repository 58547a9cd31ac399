import { describe, expect, it } from 'vitest';
import type { DecodedEvent, DecodedReading, PositionClaim } from './decode.js';
import { shareOneShape } from '../test/support/hidden-class.js';
import { applyTrust, type DeviceTrustState, type TrustDevice, type TrustLimits } from './trust.js';

const now = Date.UTC(2026, 10, 21, 8, 0, 0);
const limits: TrustLimits = { reorderToleranceMs: 60_000, maxMetricsPerDevice: 4, maxSpeedKmh: 200, positionSlackMetres: 100 };
const LIEDE = { lat: 23.1117, lon: 113.3412 };
const fixed: TrustDevice = { id: 'wl-1', mobile: false, location: LIEDE };
const mobile: TrustDevice = { id: 'bus-1', mobile: true, location: LIEDE };
const fresh: DeviceTrustState = { lastReadingAt: null, position: null, metrics: new Set() };

function reading(ts: number, metric = 'water_level', index = 0, loc?: { lat: number; lon: number }): DecodedReading {
  const r: DecodedReading = { deviceId: 'wl-1', metric, value: 0.4, unit: 'm', ts, receivedAt: now, ref: 'r', index };
  if (loc) r.loc = loc;
  return r;
}
const codes = (o: { rejections: { code: string }[] }): string[] => o.rejections.map((e) => e.code);
const run = (device: TrustDevice, state: DeviceTrustState, readings: DecodedReading[], positions: PositionClaim[] = [], events: DecodedEvent[] = []) =>
  applyTrust(device, state, { receivedAt: now, readings, events, positions }, limits);

describe('trust: time', () => {
  it('moves a publish dated ahead of its arrival back, keeping order and spacing', () => {
    const out = run(fixed, fresh, [reading(now + 240_000, 'water_level', 0), reading(now + 180_000, 'water_level', 1)]);
    expect(out.shiftedMs).toBe(240_000);
    expect(out.readings.map((r) => r.ts)).toEqual([now, now - 60_000]);
    expect(out.state.lastReadingAt).toBe(now);
  });

  it('leaves a publish at or before its arrival as it is', () => {
    const out = run(fixed, fresh, [reading(now - 5_000)]);
    expect([out.shiftedMs, out.readings[0]!.ts]).toEqual([0, now - 5_000]);
  });

  it('refuses readings earlier than the last accepted one less the tolerance, once per object', () => {
    const state = { ...fresh, lastReadingAt: now - 10_000 };
    const out = run(fixed, state, [reading(now - 70_001, 'water_level', 0), reading(now - 70_001, 'battery_v', 0), reading(now - 70_000, 'water_level', 1), reading(now, 'water_level', 2)]);
    expect(out.readings.map((r) => r.index)).toEqual([1, 2]);
    expect(codes(out)).toEqual(['SW_ERR_TS_STALE']);
    expect(out.rejections[0]!.details).toEqual({ record: 0 });
    expect(out.rejections[0]!.message).toBe(
      `timestamp ${new Date(now - 70_001).toISOString()} is earlier than ${new Date(now - 10_000).toISOString()}, the last accepted reading of device wl-1 less the 60 s tolerance: readings move forward`,
    );
  });

  it('lets a device fill the gap since it last spoke, but not re-tell what came before', () => {
    const state = { ...fresh, lastReadingAt: now - 3_600_000 };
    const buffered = Array.from({ length: 6 }, (_, i) => reading(now - 3_000_000 + i * 600_000, 'water_level', i));
    expect(codes(run(fixed, state, buffered))).toEqual([]);
    const after = run(fixed, { ...state, lastReadingAt: now }, buffered);
    expect(after.readings.map((r) => r.index)).toEqual([5]);
    expect(codes(after)).toEqual(Array(5).fill('SW_ERR_TS_STALE'));
  });

  it('refuses a second reading of the same metric and time in one publish', () => {
    const out = run(fixed, fresh, [reading(now - 1000, 'water_level', 0), reading(now - 1000, 'water_level', 1), reading(now - 1000, 'battery_v', 1)]);
    expect(out.readings.map((r) => [r.metric, r.index])).toEqual([['water_level', 0], ['battery_v', 1]]);
    expect(codes(out)).toEqual(['SW_ERR_READING_DUPLICATE']);
    expect(out.rejections[0]!.message).toContain('water_level at');
  });
});

describe('trust: metric names', () => {
  it('accepts up to the limit of distinct names over the life of a device, then refuses new ones', () => {
    const first = run(fixed, fresh, ['a', 'b', 'c'].map((m, i) => reading(now - 10, m, i)));
    expect([...first.state.metrics]).toEqual(['a', 'b', 'c']);
    expect(first.changed.metrics).toBe(true);
    const second = run(fixed, first.state, ['a', 'd', 'e', 'e', 'f'].map((m, i) => reading(now - 5 + i, m, i)));
    expect(second.readings.map((r) => r.metric)).toEqual(['a', 'd']);
    expect(codes(second)).toEqual(['SW_ERR_METRIC_LIMIT', 'SW_ERR_METRIC_LIMIT']);
    expect(second.rejections[0]!.message).toBe('device wl-1 already reports 4 distinct metrics, its limit: e is refused');
    const third = run(fixed, second.state, [reading(now + 0, 'a', 0)]);
    expect(third.changed.metrics).toBe(false);
  });
});

describe('trust: place', () => {
  const TIANHE_SOUTH = { lat: 23.128, lon: 113.366 };
  const claim = (ts: number, loc: { lat: number; lon: number }, record = 0): PositionClaim => ({ deviceId: 'x', ts, loc, records: [record] });

  it('places a fixed device at its provisioned location and refuses the location it states', () => {
    const r = reading(now, 'water_level', 0, TIANHE_SOUTH);
    const out = run(fixed, fresh, [r], [claim(now, r.loc!)]);
    expect(out.readings.map((x) => x.loc)).toEqual([LIEDE]);
    expect(codes(out)).toEqual(['SW_ERR_LOC_FIXED']);
    expect(out.changed.position).toBe(false);
  });

  it('believes a mobile device within reach, and places its readings without a position at the last trusted one', () => {
    const near = { lat: LIEDE.lat + 0.01, lon: LIEDE.lon };
    const r = reading(now - 60_000, 'noise', 0, near);
    const out = run(mobile, { ...fresh, position: { ...LIEDE, ts: now - 120_000 } }, [r, reading(now, 'noise', 1)], [claim(r.ts, r.loc!)]);
    expect(codes(out)).toEqual([]);
    expect(out.readings.map((x) => x.loc)).toEqual([near, near]);
    expect(out.state.position).toEqual({ ...near, ts: now - 60_000 });
  });

  it('refuses a jump beyond the speed limit and keeps the readings at the last trusted position', () => {
    const far = { lat: 31.23, lon: 121.47 };
    const r = reading(now, 'noise', 0, far);
    const out = run(mobile, { ...fresh, position: { ...LIEDE, ts: now - 60_000 } }, [r], [claim(now, far)]);
    expect(codes(out)).toEqual(['SW_ERR_LOC_IMPLAUSIBLE']);
    expect(out.rejections[0]!.message).toMatch(/is 1[0-9]{3}\.\d km from the last trusted one, 60 s apart, beyond 200 km\/h/);
    expect(out.readings[0]!.loc).toEqual(LIEDE);
    expect(out.state.position).toEqual({ ...LIEDE, ts: now - 60_000 });
  });

  it('takes the first position of a mobile device anywhere, and its provisioned location before any', () => {
    expect(run(mobile, fresh, [reading(now)]).readings[0]!.loc).toEqual(LIEDE);
    const far = { lat: 31.23, lon: 121.47 };
    const out = run(mobile, fresh, [reading(now, 'noise', 0, far)], [claim(now, far)]);
    expect([codes(out), out.readings[0]!.loc]).toEqual([[], far]);
  });

  it('treats camera events like readings', () => {
    const event: DecodedEvent = { id: 'e', deviceId: 'cam', type: 'fire', ts: now + 60_000, receivedAt: now, ref: 'r', index: 0, loc: TIANHE_SOUTH };
    const out = run(fixed, fresh, [], [claim(event.ts, TIANHE_SOUTH)], [event]);
    expect(out.events).toEqual([{ ...event, ts: now, loc: LIEDE }]);
    expect(codes(out)).toEqual(['SW_ERR_LOC_FIXED']);
  });
});

describe('trust: inputs', () => {
  it('returns lists of its own and leaves the input as it was, whether or not a pass drops anything', () => {
    for (const state of [fresh, { ...fresh, lastReadingAt: now - 10_000, metrics: new Set(['water_level']) }]) {
      const readings = [reading(now - 1_000, 'water_level', 0), reading(now - 900_000, 'water_level', 1)];
      const events: DecodedEvent[] = [];
      const copy = structuredClone(readings);
      const out = applyTrust(fixed, state, { receivedAt: now, readings, events, positions: [] }, limits);
      expect(out.readings).not.toBe(readings);
      expect(out.events).not.toBe(events);
      expect(readings).toEqual(copy);
      expect(out.readings.every((r) => r.loc === LIEDE)).toBe(true);
    }
  });
});

describe('trust: the copies it makes', () => {
  it('places the readings of every publish on one hidden class, for a fixed and a mobile device', () => {
    // A class per copy is garbage for the old generation on every reading (core/objects.ts).
    const fixedReadings = Array.from({ length: 20 }, (_, i) => run(fixed, fresh, [reading(now - i * 1_000)]).readings[0]!);
    expect(shareOneShape(fixedReadings)).toBe(true);
    const mobileReadings = Array.from({ length: 20 }, (_, i) => run(mobile, fresh, [reading(now - i * 1_000)]).readings[0]!);
    expect(shareOneShape(mobileReadings)).toBe(true);
  });
});
