/**
 * The embedded series store's retention reaches the index by device a worker keeps beside the
 * readings (readings-by-device.db): pruning the readings prunes their entries, so the index
 * holds what the readings hold and no more.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { Maintenance, type RetentionTask } from '../../retention/maintenance.js';
import { seriesTasks } from '../../retention/tasks.js';
import type { Reading } from '../../schemas.js';
import { MemoryKeyValueStore } from '../memory-kv.js';
import { openDatabase } from './open.js';
import { SqliteSeriesStore, statsSql } from './series.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const reading = (device: number, minute: number, metric = 'water_level'): Reading => ({ deviceId: `d${device}`, metric, value: minute / 100, ts: T0 + minute * 60_000, receivedAt: T0 + minute * 60_000, zoneIds: [], ref: `r${device}-${minute}-${metric}` });

function index(dir: string): { entries: number; upto: number } {
  const db = openDatabase(path.join(dir, 'readings-by-device.db'));
  try {
    const entries = (db.prepare('SELECT count(*) AS n FROM by_device').get() as { n: number }).n;
    const upto = (db.prepare('SELECT upto FROM indexed WHERE k = 0').get() as { upto: number } | undefined)?.upto ?? 0;
    return { entries, upto };
  } finally {
    db.close();
  }
}

it('prunes the index by device with the readings, and answers a device query the same way after', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-series-retention-'));
  const store = new SqliteSeriesStore(dir);
  // Six hours of 20 devices, two metrics each, once a minute.
  const all: Reading[] = [];
  for (let m = 0; m < 6 * 60; m++) for (let d = 0; d < 20; d++) all.push(reading(d, m), reading(d, m, 'battery_v'));
  for (let i = 0; i < all.length; i += 1_000) await store.write(all.slice(i, i + 1_000));
  await expect.poll(() => index(dir).upto, { timeout: 20_000 }).toBe(all.length);
  expect(index(dir).entries).toBe(all.length);
  while ((await store.rollUp(T0 + 7 * HOUR, 5_000)) > 0);

  // The retention job's loop: steps until one prunes nothing; the last one prunes the index.
  const before = T0 + 4 * HOUR;
  let pruned = 0;
  for (let n; (n = await store.prune('raw', before, 1_000)) > 0; ) pruned += n;
  const left = all.filter((r) => r.ts >= before);
  expect(pruned).toBe(all.length - left.length);
  expect(index(dir).entries).toBe(left.length);
  const d7 = left.filter((r) => r.deviceId === 'd7').sort((a, b) => a.ts - b.ts || a.metric.localeCompare(b.metric));
  expect(await store.query({ deviceId: 'd7', from: 0, to: T0 + 7 * HOUR })).toEqual(d7);

  // Readings stored since: indexed on, and pruned in their turn an hour later.
  const more: Reading[] = [];
  for (let m = 6 * 60; m < 7 * 60; m++) for (let d = 0; d < 20; d++) more.push(reading(d, m));
  await store.write(more);
  await expect.poll(() => index(dir).entries, { timeout: 20_000 }).toBe(left.length + more.length);
  while ((await store.rollUp(T0 + 8 * HOUR, 5_000)) > 0);
  while ((await store.prune('raw', T0 + 5 * HOUR, 1_000)) > 0);
  expect(index(dir).entries).toBe(left.length + more.length - 20 * 60 * 2);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('counts rows and finds the oldest from the ends of the indexes, without scanning a table', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-series-stats-'));
  const store = new SqliteSeriesStore(dir);
  try {
    await store.write([reading(1, 0), reading(1, 1), reading(2, 0)]);
    // Read once a minute (the storage figures) and by every readings query, over tables that hold
    // a month of a fleet's readings: a scan there stalls everything for seconds.
    for (const [table, time] of [['readings', 'ts'], ['readings_5m', 'start'], ['readings_1h', 'start']] as const) {
      const plan = (store.database.prepare(`EXPLAIN QUERY PLAN ${statsSql(table, time)}`).all() as { detail: string }[]).map((r) => r.detail);
      expect(plan.filter((d) => /^SCAN/.test(d) && d !== 'SCAN CONSTANT ROW'), table).toEqual([]);
    }
    const stats = await store.stats();
    expect(stats.rows.raw).toBe(3);
    expect(stats.oldest.raw).toBe(T0);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it("folds in one run what was stored when the run began, not the readings stored between its steps", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-series-fold-run-'));
  const store = new SqliteSeriesStore(dir);
  const first: Reading[] = [];
  for (let m = 0; m < 10; m++) for (let d = 0; d < 20; d++) first.push(reading(d, m));
  await store.write(first);
  // A fleet keeps storing while the fold runs: a batch between every two of its steps.
  let minute = 10;
  const rollup = seriesTasks(store, { rawMs: 7 * 24 * HOUR, fiveMinuteMs: 30 * 24 * HOUR, hourMs: 365 * 24 * HOUR })[0]!;
  const arriving: RetentionTask = {
    ...rollup,
    async step(now, rows) {
      const n = await rollup.step(now, rows);
      if (minute < 60) await store.write(Array.from({ length: 20 }, (_, d) => reading(d, minute++)));
      return n;
    },
  };
  const m = new Maintenance({ tasks: [arriving], kv: new MemoryKeyValueStore(), clock: { now: () => T0 + HOUR }, logger: createLogger('silent'), metrics: new Metrics({ defaultMetrics: false }), intervalMs: 60_000 });
  const [run] = await m.run();
  // Before, the run followed the arrivals until they stopped (at a fleet's rate: until its budget, a minute).
  expect(run).toMatchObject({ task: 'rollup', handled: first.length });
  const [next] = await m.run();
  expect(next!.handled).toBeGreaterThan(0);
  expect(next!.handled).toBeLessThanOrEqual(2 * 20);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
