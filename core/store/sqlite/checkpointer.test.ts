import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Reading } from '../../schemas.js';
import { SqliteSeriesStore } from './series.js';

const reading = (i: number): Reading => ({ deviceId: `d${i % 50}`, metric: 'water_level', value: i, ts: 1_700_000_000_000 + i, receivedAt: 1, zoneIds: ['z1'], ref: `r${i}` });

it('copies written readings into the database file in the background, and keeps them across a reopen', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ckpt-'));
  const file = path.join(dir, 'readings.db');
  const store = new SqliteSeriesStore(dir);
  const before = fs.statSync(file).size;
  for (let b = 0; b < 40; b++) await store.write(Array.from({ length: 100 }, (_, i) => reading(b * 100 + i)));
  // The writer itself checkpoints only past thousands of pages: these went to the log alone.
  expect(fs.statSync(file).size).toBe(before);
  await expect.poll(() => fs.statSync(file).size, { timeout: 5_000 }).toBeGreaterThan(before + 100_000);
  await store.close();
  const again = new SqliteSeriesStore(dir);
  expect(await again.query({ from: 0, to: Number.MAX_SAFE_INTEGER })).toHaveLength(4_000);
  await again.close();
});
