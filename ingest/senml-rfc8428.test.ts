/**
 * RFC 8428 section 5, example by example: each record is stored (as the RFC resolves it) or
 * refused with a code, never dropped. test/e2e/senml.test.ts sends the same packs over MQTT.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_DEVICE_METRICS, DEFAULT_MAX_SPEED_KMH, DEFAULT_TS_TOLERANCE_MS } from '../core/config.js';
import { loadRfc8428Examples } from '../test/support/senml-rfc8428.js';
import type { DecodedReading, PositionClaim } from './decode.js';
import { decodeSenml, type SenmlDevice } from './senml.js';
import { applyTrust } from './trust.js';

const limits = { reorderToleranceMs: DEFAULT_TS_TOLERANCE_MS, maxMetricsPerDevice: DEFAULT_MAX_DEVICE_METRICS, maxSpeedKmh: DEFAULT_MAX_SPEED_KMH, positionSlackMetres: 100 };

describe('RFC 8428 section 5 examples', () => {
  it.each(loadRfc8428Examples().map((x) => [`${x.name}: ${x.title}`, x] as const))('%s', (_name, x) => {
    const receivedAt = Date.parse(x.receivedAt);
    const senml = (id: string): SenmlDevice => {
      const d = x.devices.find((e) => e.id === id)!;
      return { id, name: d.senml?.name ?? null, map: d.senml?.map ?? [] };
    };
    const decoded = decodeSenml(Buffer.from(JSON.stringify(x.pack)), {
      deviceId: x.publisher,
      ref: 'ref',
      receivedAt,
      maxPayloadBytes: 65536,
      maxClockSkewMs: 300_000,
      maxReadingAgeMs: 7 * 86_400_000,
      senml: { self: senml(x.publisher), children: x.devices.filter((d) => d.gateway === x.publisher).map((d) => senml(d.id)) },
    });
    expect(decoded.positions ?? []).toEqual(x.expect.positions ?? expect.any(Array));

    const stored: DecodedReading[] = [];
    const refused = [...decoded.rejections];
    for (const d of x.devices) {
      const readings = decoded.items.filter((r) => r.deviceId === d.id);
      const positions: PositionClaim[] = (decoded.positions ?? []).filter((p) => p.deviceId === d.id);
      const outcome = applyTrust({ id: d.id, mobile: d.mobile ?? false, location: d.location }, { lastReadingAt: null, position: null, metrics: new Set() }, { receivedAt, readings, events: [], positions }, limits);
      stored.push(...outcome.readings);
      refused.push(...outcome.rejections);
    }
    const records = new Set(refused.map((e) => (e.details as { record: number }).record));
    expect(refused.map((e) => ({ record: (e.details as { record: number }).record, code: e.code })).sort((a, b) => a.record - b.record)).toEqual(x.expect.refused);
    // Every refusal names its record; none of a stored record.
    expect(stored.filter((r) => records.has(r.index))).toEqual([]);
    expect(stored.map(({ deviceId, metric, value, unit, ts, loc }) => ({ deviceId, metric, value, ...(unit === undefined ? {} : { unit }), ts, ...(loc ? { loc } : {}) }))).toEqual(
      x.expect.stored.map((s) => ({ ...s, loc: s.loc ?? x.devices.find((d) => d.id === s.deviceId)!.location })),
    );
  });
});
