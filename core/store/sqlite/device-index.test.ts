import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Reading } from '../../schemas.js';
import { openDatabase } from './open.js';
import { SqliteSeriesStore } from './series.js';

const T0 = 1_700_000_000_000;
const reading = (device: number, i: number, metric = 'water_level'): Reading => ({ deviceId: `d${device}`, metric, value: i, ts: T0 + i * 1_000, receivedAt: T0 + i * 1_000, zoneIds: [], ref: `r${device}-${i}` });
const indexedUpTo = (dir: string): number => {
  const db = openDatabase(path.join(dir, 'readings-by-device.db'));
  try {
    return (db.prepare('SELECT upto FROM indexed WHERE k = 0').get() as { upto: number } | undefined)?.upto ?? 0;
  } finally {
    db.close();
  }
};

it('answers a device query the same before and after the worker indexed the readings', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-devidx-'));
  const store = new SqliteSeriesStore(dir);
  const batches = Array.from({ length: 30 }, (_, i) => Array.from({ length: 100 }, (_, d) => reading(d, i)).concat(Array.from({ length: 20 }, (_, d) => reading(d, i, 'battery_v'))));
  for (const b of batches) await store.write(b);
  const wanted = batches.flat().filter((r) => r.deviceId === 'd7');
  const sorted = (rs: Reading[]) => [...rs].sort((a, b) => a.ts - b.ts || a.metric.localeCompare(b.metric));
  // Stored a moment ago: found by the scan of what the worker has not indexed yet.
  expect(await store.query({ deviceId: 'd7', from: 0, to: T0 + 1e9 })).toEqual(sorted(wanted));
  await expect.poll(() => indexedUpTo(dir), { timeout: 10_000 }).toBe(3_600);
  expect(await store.query({ deviceId: 'd7', from: 0, to: T0 + 1e9 })).toEqual(sorted(wanted));
  expect(await store.query({ deviceId: 'd7', metric: 'battery_v', from: T0 + 5_000, to: T0 + 8_000 })).toEqual(sorted(wanted.filter((r) => r.metric === 'battery_v' && r.ts >= T0 + 5_000 && r.ts < T0 + 8_000)));
  // Indexed and not yet indexed readings together, within the limit.
  await store.write([reading(7, 100)]);
  expect(await store.query({ deviceId: 'd7', metric: 'water_level', from: T0 + 28_000, to: T0 + 1e9 })).toEqual([reading(7, 28), reading(7, 29), reading(7, 100)]);
  expect(await store.query({ deviceId: 'd7', from: 0, to: T0 + 1e9, limit: 2 })).toHaveLength(2);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('moves readings of the second layout (unique key by device, index by time) to the current one', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-devidx-'));
  const db = openDatabase(path.join(dir, 'readings.db'));
  db.exec(`CREATE TABLE readings (id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, unit TEXT, lat REAL, lon REAL,
      zone_ids TEXT NOT NULL, subcenter_id TEXT, received_at INTEGER NOT NULL, ref TEXT NOT NULL);
    CREATE UNIQUE INDEX readings_key ON readings(device_id, metric, ts);
    CREATE INDEX readings_ts ON readings(ts);`);
  db.prepare('INSERT INTO readings (device_id, metric, ts, value, unit, lat, lon, zone_ids, subcenter_id, received_at, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('d1', 'smoke', 1000, 0.4, null, null, null, '', null, 1001, 'ref-1');
  db.close();
  const store = new SqliteSeriesStore(dir);
  const indexes = store.database.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'readings' AND name NOT LIKE 'sqlite_%' ORDER BY name").all();
  expect(indexes).toEqual([{ name: 'readings_time' }]);
  await store.write([{ deviceId: 'd1', metric: 'smoke', ts: 1000, value: 9, zoneIds: [], receivedAt: 2, ref: 'again' }]);
  expect(await store.query({ deviceId: 'd1', from: 0, to: 10_000 })).toEqual([{ deviceId: 'd1', metric: 'smoke', ts: 1000, value: 0.4, zoneIds: [], receivedAt: 1001, ref: 'ref-1' }]);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
