import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceErrorLogContract } from '../../../test/contract/device-errors.contract.js';
import { seriesContract } from '../../../test/contract/series.contract.js';
import { sampleTicket, stateContract } from '../../../test/contract/state.contract.js';
import { provisionedDevice } from '../../schemas.js';
import { SqliteSeriesStore } from './series.js';
import { SqliteStateStore } from './state.js';
import { openDatabase, PAGE_CACHE_KIB, WRITER_PAGE_CACHE_KIB } from './open.js';
import type { StateStore } from '../../ports.js';

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
deviceErrorLogContract('sqlite', async () => new SqliteStateStore(tmp()));

describe('SQLite stores', () => {
  it('bound the page cache of every connection: the readings with the log at 16 MiB, the rest at 2 MiB', async () => {
    const dir = tmp();
    const state = openDatabase(path.join(dir, 'state.db'));
    const series = new SqliteSeriesStore(dir);
    // SQLite's default here is 16 MiB for each database, the attached index included.
    expect(state.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    expect(series.database.pragma('main.cache_size', { simple: true })).toBe(-WRITER_PAGE_CACHE_KIB);
    expect(series.database.pragma('idx.cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    expect(PAGE_CACHE_KIB).toBe(2048);
    expect(WRITER_PAGE_CACHE_KIB).toBe(16_384);
    state.close();
    await series.close();
  });

  it('keep tickets and devices across a reopen of the same data dir', async () => {
    const dir = tmp();
    const first = new SqliteStateStore(dir);
    const t = sampleTicket();
    await first.tickets.save(t);
    await first.devices.add({ ...provisionedDevice({ id: 'd1', kind: 'smoke', location: { lat: 0, lon: 0 } }, 'h', 1), location: null });
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
    // Its department sees it, and tokens issued before token kinds are unit tokens.
    expect((await store.tickets.list({ department: 'water-affairs' })).map((t) => t.id)).toEqual([old.id]);
    await store.close();
  });

  it('indexes the departments of tickets saved before departments were indexed, and keeps old tokens as unit tokens', async () => {
    const dir = tmp();
    const first = new SqliteStateStore(dir);
    const t = sampleTicket({ department: 'fire-rescue' });
    await first.tickets.save(t);
    await first.close();
    // A store of a release before schema versions: no department index, no token kinds.
    const db = openDatabase(path.join(dir, 'state.db'));
    db.pragma('user_version = 0');
    db.exec('DROP TABLE ticket_departments; DROP TABLE api_tokens; CREATE TABLE api_tokens (id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, label TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)');
    db.prepare('INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, ?)').run('t1', 'north', 'ab'.repeat(32), 'desk', 5, null);
    db.close();
    const store = new SqliteStateStore(dir);
    expect((await store.tickets.list({ department: 'fire-rescue' })).map((x) => x.id)).toEqual([t.id]);
    expect(await store.tokens.findByHash('ab'.repeat(32))).toEqual({ id: 't1', unitId: 'north', kind: 'unit', tokenHash: 'ab'.repeat(32), label: 'desk', createdAt: 5, revokedAt: null });
    await store.close();
  });

  it('keeps the unit tokens issued before token kinds existed, as unit tokens', async () => {
    const dir = tmp();
    const db = openDatabase(path.join(dir, 'state.db'));
    db.exec('CREATE TABLE api_tokens (id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, label TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)');
    db.prepare('INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, ?)').run('t1', 'north', 'ab'.repeat(32), 'desk', 5, null);
    db.close();
    const store = new SqliteStateStore(dir);
    expect(await store.tokens.findByHash('ab'.repeat(32))).toEqual({ id: 't1', unitId: 'north', kind: 'unit', tokenHash: 'ab'.repeat(32), label: 'desk', createdAt: 5, revokedAt: null });
    await store.close();
  });

  it('moves readings of the first layout (keyed by device) to the current one', async () => {
    const dir = tmp();
    const db = openDatabase(path.join(dir, 'readings.db'));
    db.exec(`CREATE TABLE readings (device_id TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, unit TEXT, lat REAL, lon REAL,
        zone_ids TEXT NOT NULL, subcenter_id TEXT, received_at INTEGER NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (device_id, metric, ts)) WITHOUT ROWID;
      CREATE INDEX readings_ts ON readings(ts);`);
    db.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('d1', 'water_level', 1000, 0.4, 'm', 23.1, 113.3, 'z1,z2', 'linhe', 1001, 'ref-1');
    db.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('d2', 'smoke', 2000, 0.1, null, null, null, '', null, 2001, 'ref-2');
    db.close();
    const store = new SqliteSeriesStore(dir);
    const first = { deviceId: 'd1', metric: 'water_level', ts: 1000, value: 0.4, unit: 'm', loc: { lat: 23.1, lon: 113.3 }, zoneIds: ['z1', 'z2'], subcenterId: 'linhe', receivedAt: 1001, ref: 'ref-1' };
    const second = { deviceId: 'd2', metric: 'smoke', ts: 2000, value: 0.1, zoneIds: [], receivedAt: 2001, ref: 'ref-2' };
    expect(await store.query({ from: 0, to: 10_000 })).toEqual([first, second]);
    // The key still holds: a redelivered reading is stored once, the first write winning.
    await store.write([{ ...first, value: 9, ref: 'ref-again' }]);
    expect(await store.query({ from: 0, to: 10_000, deviceId: 'd1' })).toEqual([first]);
    await store.close();
    const reopened = new SqliteSeriesStore(dir);
    expect(await reopened.query({ from: 0, to: 10_000 })).toHaveLength(2);
    await reopened.close();
  });
});
