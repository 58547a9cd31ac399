import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { seriesContract } from '../../test/contract/series.contract.js';
import { sampleTicket, stateContract } from '../../test/contract/state.contract.js';
import { SqliteSeriesStore } from './sqlite-series.js';
import { SqliteStateStore } from './sqlite-state.js';
import { openDatabase } from './sqlite-open.js';
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

  it('upgrades tickets written by the first release', async () => {
    const dir = tmp();
    // The first release's tables and one of its tickets, acknowledged, with one firing alert.
    const db = openDatabase(path.join(dir, 'state.db'));
    db.exec(`CREATE TABLE tickets (id TEXT PRIMARY KEY, merge_key TEXT NOT NULL, status TEXT NOT NULL, subcenter_id TEXT NOT NULL, created_at INTEGER NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE TABLE outbox (id TEXT PRIMARY KEY, channel TEXT NOT NULL, subcenter_id TEXT NOT NULL, ticket_id TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT, state TEXT NOT NULL DEFAULT 'pending');`);
    const old = {
      id: 'SW-OLD-1', grade: 'B', category: 'flooding', department: 'water-affairs', subcenterId: 'linhe', routedToFallback: false, zoneId: 'z', ruleId: 'r',
      mergeKey: 'r|zone:z', status: 'acknowledged', title: 't', createdAt: 1000, updatedAt: 3000, respondBy: 5000, resolveBy: 9000, location: null,
      alerts: [{ id: 'r/d1@900:firing', fingerprint: 'r/d1', deviceId: 'd1', ruleId: 'r', metric: 'water_level', value: 0.5, status: 'firing', firstSeen: 900, lastSeen: 950 }],
      timeline: [{ at: 1000, actor: 'sensor:d1', action: 'created' }, { at: 2000, actor: 'admin', action: 'acknowledged' }],
      version: 2,
    };
    db.prepare('INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?)').run(old.id, old.mergeKey, old.status, old.subcenterId, old.createdAt, old.version, JSON.stringify(old));
    db.close();
    const store = new SqliteStateStore(dir);
    expect(await store.tickets.get(old.id)).toEqual({
      ...old,
      baseGrade: 'B', gradeReasons: [], dispatchedAt: 1000, respondedAt: 2000, resolvedAt: null, closedAt: null, closure: null,
      alertCount: 1, devices: ['d1'], firstSeen: 900, lastSeen: 950, reminders: [], overdue: [], red: false, supervisionOrderIds: [],
    });
    expect((await store.tickets.findOpenByAlert('r/d1'))?.id).toBe(old.id);
    expect((await store.tickets.list({ grade: 'B' })).map((t) => t.id)).toEqual([old.id]);
    await store.close();
  });
});
