import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { seriesContract } from '../../test/contract/series.contract.js';
import { sampleTicket, stateContract } from '../../test/contract/state.contract.js';
import { SqliteSeriesStore } from './sqlite-series.js';
import { SqliteStateStore } from './sqlite-state.js';
import type { StateStore } from '../ports.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'sw-sqlite-'));

const dirs = new WeakMap<StateStore, string>();
stateContract(
  'sqlite',
  async () => {
    const dir = tmp();
    const store = new SqliteStateStore(dir);
    dirs.set(store, dir);
    return store;
  },
  // Another connection to the same file: what a second process sees.
  { twin: async (store) => new SqliteStateStore(dirs.get(store)!) },
);
seriesContract('sqlite', async () => new SqliteSeriesStore(tmp()));

describe('SQLite stores', () => {
  it('keep tickets and devices across a reopen of the same data dir', async () => {
    const dir = tmp();
    const first = new SqliteStateStore(dir);
    const t = sampleTicket();
    await first.tickets.save(t);
    await first.devices.add({ id: 'd1', kind: 'smoke', location: null, secretHash: 'h', createdAt: 1, status: 'unknown', lastSeen: null });
    await first.close();
    const second = new SqliteStateStore(dir);
    expect(await second.tickets.get(t.id)).toEqual(t);
    expect((await second.devices.get('d1'))?.kind).toBe('smoke');
    await second.close();
  });
});
