/**
 * The readings ingest publishes on `sw.readings` are the rows it stores in the same commit (the
 * embedded log shares the readings' database): the log keeps their rowids, not a second copy of
 * each as JSON, and a group reading the log back loads them from the readings table.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../../../test/support/harness.js';
import { SqliteLogBus, type SqliteLogBusOptions } from '../../bus/sqlite-log.js';
import type { BusRecord } from '../../ports.js';
import type { DeadLetter, Reading } from '../../schemas.js';
import { SqliteSeriesStore } from './series.js';

const T0 = Date.UTC(2026, 0, 1, 8);

const reading = (device: number, second: number, extra: Partial<Reading> = {}): Reading => ({
  deviceId: `d${device}`,
  metric: 'water_level',
  value: device + second / 10,
  ts: T0 + second * 1_000,
  receivedAt: T0 + second * 1_000 + 5,
  zoneIds: device % 2 ? ['z-1', 'z-2'] : [],
  ref: `raw-${device}-${second}`,
  ...extra,
});

/** A batch's trigger: any record on a topic the test does not otherwise use. */
const trigger = (n: number): BusRecord<DeadLetter> => ({
  key: 'd0',
  value: { deviceId: 'd0', topic: 'v1/devices/d0/telemetry', receivedAt: n, error: { code: 'SW_ERR_VALIDATION', message: 'x' }, payload: '' } as unknown as DeadLetter,
});

describe('readings kept in the log as their rowids', () => {
  const dirs: string[] = [];
  const closing: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function open(dir: string, opts: Omit<SqliteLogBusOptions, 'database' | 'stored'> = {}): { series: SqliteSeriesStore; bus: SqliteLogBus } {
    const series = new SqliteSeriesStore(dir);
    const bus = new SqliteLogBus({ ...opts, database: series.database, stored: { 'sw.readings': series.storedReadings } });
    closing.push(() => series.close(), () => bus.close());
    return { series, bus };
  }

  /** Stores `batches` of readings the way ingest does, each in the commit that publishes it, with a group away that has not taken them. */
  async function ingest(dir: string, batches: Reading[][]): Promise<{ series: SqliteSeriesStore; bus: SqliteLogBus }> {
    const { series, bus } = open(dir);
    // The group that will read the log back subscribes once, so the log holds what it has not taken.
    const away = await bus.subscribe('sw.readings', 'late', async () => undefined);
    await away.close();
    let k = 0;
    const done = new Promise<void>((resolve) => {
      void bus.subscribe('sw.deadletter', 'ingest', async (_records, batch) => {
        const readings = batches[k++]!;
        await series.write(readings, batch);
        batch.publish('sw.readings', readings.map((r) => ({ key: r.deviceId, value: r })));
        if (k === batches.length) batch.afterCommit(resolve);
      });
    });
    for (let i = 0; i < batches.length; i++) {
      await bus.publish('sw.deadletter', [trigger(i)]);
      await until(() => k > i);
    }
    await done;
    return { series, bus };
  }

  it('keeps each reading a batch stored as its rowid, and one it did not store (a duplicate) whole', async () => {
    const dir = tempDir('outbox');
    dirs.push(dir);
    const first = [reading(1, 0), reading(2, 0, { unit: 'cm', loc: { lat: 23.1, lon: 113.2 }, subcenterId: 'sc-1' }), reading(3, 0)];
    const second = [reading(1, 1), { ...reading(2, 0), value: 99 }, reading(3, 1)];
    const { series } = await ingest(dir, [first, second]);
    const rows = series.database.prepare('SELECT n, values_json FROM bus_sw_readings ORDER BY seq').all() as { n: number; values_json: string }[];
    const values = rows.flatMap((r) => JSON.parse(r.values_json) as unknown[]);
    const ids = (series.database.prepare('SELECT id FROM readings ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    expect(ids).toHaveLength(5);
    // The second batch's reading of d2 at second 0 is a duplicate: not stored, so kept whole.
    expect(values).toEqual([ids[0], ids[1], ids[2], ids[3], { ...reading(2, 0), value: 99 }, ids[4]]);
  });

  it('gives a group that reads the log back the readings as they were published', async () => {
    const dir = tempDir('outbox');
    dirs.push(dir);
    const batches = [
      [reading(1, 0), reading(2, 0, { unit: 'cm', loc: { lat: 23.1, lon: 113.2 }, subcenterId: 'sc-1' }), reading(3, 0, { value: -0.5 })],
      [reading(1, 1), { ...reading(2, 0), value: 99 }, reading(3, 1, { zoneIds: ['z-9'] })],
    ];
    const { series, bus } = await ingest(dir, batches);
    await bus.close();
    await series.close();
    closing.length = 0;

    const again = open(dir);
    const seen: Reading[] = [];
    await again.bus.subscribe('sw.readings', 'late', async (records) => void seen.push(...records.map((r) => r.value)));
    await until(() => seen.length === 6);
    expect(seen).toEqual(batches.flat());
  });

  it('skips, counts and moves past records whose readings are gone when a group reads them back', async () => {
    const dir = tempDir('outbox');
    dirs.push(dir);
    const { series, bus } = await ingest(dir, [[reading(1, 0), reading(2, 0), reading(3, 0)], [reading(1, 1), reading(2, 1)]]);
    await bus.close();
    // Gone as retention or a deleted device would take them: one in the middle, then all of the second batch.
    series.database.prepare("DELETE FROM readings WHERE ref IN ('raw-2-0', 'raw-1-1', 'raw-2-1')").run();
    await series.close();
    closing.length = 0;

    const skipped: number[] = [];
    const again = open(dir, { onSkipped: (_topic, group, n) => void (group === 'late' && skipped.push(n)) });
    const seen: string[] = [];
    await again.bus.subscribe('sw.readings', 'late', async (records) => void seen.push(...records.map((r) => r.value.ref)), { maxBatch: 10 });
    await until(() => seen.length === 2);
    expect(seen).toEqual(['raw-1-0', 'raw-3-0']);
    await until(() => skipped.reduce((a, b) => a + b, 0) === 3);
    // Not stuck behind them: what comes next is delivered.
    await again.bus.publish('sw.readings', [{ key: 'd4', value: reading(4, 2) }]);
    await until(() => seen.length === 3);
    expect(seen[2]).toBe('raw-4-2');
    expect(skipped.reduce((a, b) => a + b, 0)).toBe(3);
  });
});

/** Waits until `ok` holds. */
const until = async (ok: () => boolean, what = 'the log'): Promise<void> => void (await waitFor(() => ok() || undefined, what));
