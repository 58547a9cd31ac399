import { describe, expect, it } from 'vitest';
import { provisionedDevice, type DeviceRecord, type RawPublish } from '../core/schemas.js';
import { senmlDevice } from './device-state.js';
import { processPublish, type KnownDevices, type PublishLimits } from './publish.js';
import type { DeviceTrustState } from './trust.js';

const now = Date.UTC(2026, 10, 21, 8, 0, 0);
const limits: PublishLimits = { reorderToleranceMs: 60_000, maxMetricsPerDevice: 8, maxSpeedKmh: 200, positionSlackMetres: 100, maxPayloadBytes: 65_536, maxClockSkewMs: 300_000, maxReadingAgeMs: 86_400_000 };
const fresh: DeviceTrustState = { lastReadingAt: null, position: null, metrics: new Set() };
const gw = provisionedDevice({ id: 'gw', kind: 'gateway', location: { lat: 23.1, lon: 113.3 }, senml: { name: 'urn:dev:sw:gw:', map: [] } }, 'h', now);
const c1 = provisionedDevice({ id: 'c-1', kind: 'sensor', location: { lat: 23.2, lon: 113.4 }, gateway: 'gw', senml: { name: 'urn:dev:sw:c1:', map: [] } }, 'h', now);
const c2 = provisionedDevice({ id: 'c-2', kind: 'sensor', location: { lat: 23.3, lon: 113.5 }, gateway: 'gw', senml: { name: 'urn:dev:sw:c2:', map: [] } }, 'h', now);

function known(devices: DeviceRecord[], children: DeviceRecord[]): KnownDevices {
  const byId = new Map(devices.map((d) => [d.id, d]));
  return {
    device: (id) => byId.get(id),
    trust: () => fresh,
    senmlDirectory: (id) => ({ self: senmlDevice(byId.get(id)!), children: children.map(senmlDevice) }),
  };
}

function raw(topic: string, payload: unknown): RawPublish {
  return { id: 'ref-1', clientId: 'gw', topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, receivedAt: now };
}

describe('processPublish', () => {
  it('judges each device a gateway pack speaks for on its own, in the order the pack first names them', () => {
    const pack = [
      { bn: 'urn:dev:sw:c1:', bt: now / 1000 - 60, n: 'temperature', u: 'Cel', v: 21 },
      { bn: 'urn:dev:sw:gw:', n: 'temperature', u: 'Cel', v: 25 },
      { bn: 'urn:dev:sw:c1:', n: 'humidity', u: '%RH', v: 40 },
      { bn: 'urn:dev:sw:c2:', n: 'temperature', u: 'Cel', v: 19 },
    ];
    // c-2 was removed meanwhile: the directory still names it, the registry no longer does.
    const out = processPublish(raw('v1/devices/gw/senml', pack), known([gw, c1], [c1, c2]), limits);
    expect(out.settled.map((s) => [s.device.id, [...s.outcome.state.metrics]])).toEqual([
      ['c-1', ['temperature', 'humidity']],
      ['gw', ['temperature']],
    ]);
    expect(out.readings.map((r) => [r.deviceId, r.metric, r.loc])).toEqual([
      ['c-1', 'temperature', c1.location],
      ['c-1', 'humidity', c1.location],
      ['gw', 'temperature', gw.location],
    ]);
    expect(out.rejections.map((e) => e.code)).toEqual(['SW_ERR_DEVICE_UNKNOWN']);
  });

  it('takes a publish that speaks for its own device whole, placed at its provisioned location', () => {
    const out = processPublish(raw('v1/devices/gw/telemetry', { ts: now - 1_000, values: { temperature: 25, humidity: 40 } }), known([gw], []), limits);
    expect(out.settled.map((s) => s.device.id)).toEqual(['gw']);
    expect(out.readings.map((r) => [r.metric, r.ts, r.loc])).toEqual([
      ['temperature', now - 1_000, gw.location],
      ['humidity', now - 1_000, gw.location],
    ]);
    expect(out.rejections).toEqual([]);
  });

  it('settles no device for a publish with nothing in it to judge', () => {
    const out = processPublish(raw('v1/devices/gw/telemetry', { ts: now - 1_000, values: {} }), known([gw], []), limits);
    expect(out.settled).toEqual([]);
    expect(out.readings).toEqual([]);
  });
});
