/**
 * Ingest places each reading in the city in use: a fixed device's readings are placed once per
 * location and city (ingest/stage.ts), and a city reloaded between two publishes places the next
 * reading by the new city, not by what was placed before.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CityIndex } from '../../core/city-index.js';
import { loadCity } from '../../core/city.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { systemClock } from '../../core/ports.js';
import { provisionedDevice, type Reading } from '../../core/schemas.js';
import { SqliteSeriesStore } from '../../core/store/sqlite/series.js';
import { SqliteStateStore } from '../../core/store/sqlite/state.js';
import { startIngest } from '../../ingest/stage.js';
import { busSettled, tempLogBus } from '../support/bus.js';
import { FIXTURE_CITY } from '../support/harness.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('ingest placement', () => {
  it('places the same device location by the city in use at each publish', async () => {
    const city = loadCity(FIXTURE_CITY);
    const withTunnel = new CityIndex(city);
    const withoutTunnel = new CityIndex({ ...city, zones: city.zones.filter((z) => z.id !== 'north-tunnel') });
    let current = withTunnel;
    const state = new SqliteStateStore(fs.mkdtempSync(path.join(os.tmpdir(), 'sw-placement-')));
    const series = new SqliteSeriesStore(fs.mkdtempSync(path.join(os.tmpdir(), 'sw-placement-series-')));
    const bus = tempLogBus();
    const readings: Reading[] = [];
    const tap = await bus.subscribe('sw.readings', 'test-readings-tap', async (records) => void readings.push(...records.map((r) => r.value)));
    // Inside north-tunnel (fixtures/city), in no other zone.
    await state.devices.add(provisionedDevice({ id: 'wl-1', kind: 'water_level', location: { lat: 23.145, lon: 113.315 } }, 'h', 0));
    const ingest = await startIngest({ bus, series, devices: state.devices, kv: state.kv, cityIndex: () => current, clock: systemClock, metrics: new Metrics(), logger: createLogger('silent'), ingest: loadConfig({}).ingest });
    closers.push(() => state.close(), () => series.close(), () => bus.close(), () => tap.close(), () => ingest.close());

    const t0 = Date.now() - 60_000;
    const publish = async (k: number) => {
      const payload = Buffer.from(JSON.stringify({ ts: t0 + k * 1_000, values: { water_level: 0.1 * k } }));
      await bus.publish('sw.raw', [{ key: 'wl-1', value: { id: randomUUID(), clientId: 'wl-1', topic: 'v1/devices/wl-1/telemetry', payload, qos: 1, receivedAt: Date.now() } }]);
      await busSettled(bus);
      return readings.at(-1)!;
    };
    expect((await publish(1)).zoneIds).toEqual(['north-tunnel']);
    expect((await publish(2)).zoneIds).toEqual(['north-tunnel']);
    current = withoutTunnel;
    expect((await publish(3)).zoneIds).toEqual([]);
    current = withTunnel;
    const back = await publish(4);
    expect(back).toMatchObject({ deviceId: 'wl-1', metric: 'water_level', loc: { lat: 23.145, lon: 113.315 }, zoneIds: ['north-tunnel'], subcenterId: expect.any(String) });
    expect(readings.map((r) => r.value)).toEqual([0.1, 0.2, 0.1 * 3, 0.4]);
  });
});
