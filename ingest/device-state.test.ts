import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../core/store/sqlite/state.js';
import { provisionedDevice } from '../core/schemas.js';
import { ManualClock } from '../test/support/clock.js';
import { IngestDevices, type JudgedDevice } from './device-state.js';

const T0 = Date.UTC(2026, 10, 21, 8);
const stores: SqliteStateStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function setup(maxDevices = 100) {
  const state = new SqliteStateStore(fs.mkdtempSync(path.join(os.tmpdir(), 'sw-devstate-')));
  stores.push(state);
  const clock = new ManualClock(T0);
  for (const id of ['a', 'b', 'c']) await state.devices.add(provisionedDevice({ id, kind: 'sensor', location: { lat: 23.1, lon: 113.3 } }, 'h', T0));
  await state.devices.add(provisionedDevice({ id: 'a-1', kind: 'sensor', location: { lat: 23.1, lon: 113.3 }, gateway: 'a', senml: { name: 'urn:x:1', map: [] } }, 'h', T0));
  const devices = new IngestDevices(state.devices, clock, { maxDevices, recordTtlMs: 30_000, saveIntervalMs: 10_000, maxChildren: 10 });
  return { state, clock, devices };
}

const judged = (device: JudgedDevice['device'], lastReadingAt: number, metrics: string[], changed: Partial<JudgedDevice['changed']>): Map<string, JudgedDevice> =>
  new Map([[device.id, { device, state: { lastReadingAt, position: null, metrics: new Set(metrics) }, changed: { metrics: false, lastReadingAt: false, position: false, ...changed } }]]);

describe('IngestDevices', () => {
  it('reads devices and a gateway\'s list, and holds the state of the devices it speaks for', async () => {
    const { devices } = await setup();
    const loaded = await devices.load(['a', 'nobody'], ['a']);
    expect([...loaded.keys()]).toEqual(['a', 'nobody']);
    expect(loaded.get('nobody')).toBeUndefined();
    expect(devices.senmlDirectory('a')).toEqual({ self: { id: 'a', name: null, map: [] }, children: [{ id: 'a-1', name: 'urn:x:1', map: [] }] });
    expect(devices.device('a-1')?.gateway).toBe('a');
  });

  it('saves new metric names with their batch, reading times once per interval, and moves on only when told the batch is stored', async () => {
    const { state, clock, devices } = await setup();
    await devices.load(['a']);
    const a = devices.device('a')!;
    const first = judged(a, T0 + 1, ['noise'], { metrics: true, lastReadingAt: true });
    const due = devices.due(first);
    expect(due).toEqual([{ id: 'a', lastReadingAt: T0 + 1, position: null, metrics: ['noise'] }]);
    // The batch failed: nothing moved.
    expect(devices.trust('a').lastReadingAt).toBeNull();
    await state.devices.saveTrust(due);
    devices.commit(first, due);
    expect(devices.trust('a')).toEqual({ lastReadingAt: T0 + 1, position: null, metrics: new Set(['noise']) });

    // A later reading time alone waits for the interval.
    const second = judged(a, T0 + 2, ['noise'], { lastReadingAt: true });
    expect(devices.due(second)).toEqual([]);
    devices.commit(second, []);
    expect(devices.due(new Map())).toEqual([]);
    clock.advance(10_000);
    expect(devices.due(new Map())).toEqual([{ id: 'a', lastReadingAt: T0 + 2, position: null, metrics: ['noise'] }]);
    expect(devices.takeAll()).toEqual([{ id: 'a', lastReadingAt: T0 + 2, position: null, metrics: ['noise'] }]);
    expect(devices.takeAll()).toEqual([]);
  });

  it('holds at most maxDevices, and saves the state of one that leaves unsaved', async () => {
    const { clock, devices } = await setup(2);
    await devices.load(['a']);
    const a = devices.device('a')!;
    const batch = judged(a, T0 + 5, [], { lastReadingAt: true });
    devices.commit(batch, []);
    await devices.load(['b', 'c']);
    expect(devices.size).toBe(2);
    expect(devices.device('a')).toBeUndefined();
    clock.advance(1);
    expect(devices.due(new Map())).toEqual([{ id: 'a', lastReadingAt: T0 + 5, position: null, metrics: [] }]);
  });

  it('reads the saved state of a device it forgot, and forgets the state of a device removed and provisioned again', async () => {
    const { state, clock, devices } = await setup(1);
    await state.devices.saveTrust([{ id: 'a', lastReadingAt: T0 + 9, position: null, metrics: ['co'] }]);
    await devices.load(['a']);
    expect(devices.trust('a')).toEqual({ lastReadingAt: T0 + 9, position: null, metrics: new Set(['co']) });
    await state.devices.remove('a');
    await state.devices.add(provisionedDevice({ id: 'a', kind: 'sensor', location: { lat: 23.1, lon: 113.3 } }, 'h', T0 + 100));
    clock.advance(30_000);
    await devices.load(['a']);
    expect(devices.trust('a')).toEqual({ lastReadingAt: null, position: null, metrics: new Set() });
  });

  it('saves a device whose interval ran out among many that are not due, and one that changes again after a long silence at once', async () => {
    const { clock, devices } = await setup();
    await devices.load(['a', 'b', 'c']);
    const [a, b, c] = ['a', 'b', 'c'].map((id) => devices.device(id)!);
    const saveAll = (batch: Map<string, JudgedDevice>): string[] => {
      const due = devices.due(batch);
      devices.commit(batch, due);
      return due.map((u) => u.id).sort();
    };
    // All three saved at T0 with their names; b and c saved again 6 s later.
    expect(saveAll(new Map([...judged(a!, T0, ['co'], { metrics: true }), ...judged(b!, T0, ['co'], { metrics: true }), ...judged(c!, T0, ['co'], { metrics: true })]))).toEqual(['a', 'b', 'c']);
    clock.advance(6_000);
    expect(saveAll(new Map([...judged(b!, T0 + 6_000, ['co', 'no2'], { metrics: true }), ...judged(c!, T0 + 6_000, ['co', 'no2'], { metrics: true })]))).toEqual(['b', 'c']);
    // Progress on all three: none due yet.
    expect(saveAll(new Map([...judged(a!, T0 + 7_000, ['co'], { lastReadingAt: true }), ...judged(b!, T0 + 7_000, ['co', 'no2'], { lastReadingAt: true }), ...judged(c!, T0 + 7_000, ['co', 'no2'], { lastReadingAt: true })]))).toEqual([]);
    // a's interval runs out first, while silent: saved alone.
    clock.advance(4_000);
    expect(saveAll(new Map())).toEqual(['a']);
    // b and c later.
    clock.advance(6_000);
    expect(saveAll(new Map())).toEqual(['b', 'c']);
    // Long silence, nothing unsaved: nothing due; then a changes and is saved with its batch.
    clock.advance(60_000);
    expect(saveAll(new Map())).toEqual([]);
    expect(devices.due(judged(a!, T0 + 80_000, ['co'], { lastReadingAt: true }))).toEqual([{ id: 'a', lastReadingAt: T0 + 80_000, position: null, metrics: ['co'] }]);
    // Committed without saving (a failed save), it stays due.
    devices.commit(judged(a!, T0 + 80_000, ['co'], { lastReadingAt: true }), []);
    expect(devices.due(new Map())).toEqual([{ id: 'a', lastReadingAt: T0 + 80_000, position: null, metrics: ['co'] }]);
  });
});
