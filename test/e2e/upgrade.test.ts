/**
 * Upgrades: a data directory written by the release before schema versions (commit 8ebae98,
 * test/fixtures/datadir-8ebae98, made by its own code running a small workload) opens with
 * this code, migrated forward with nothing lost; a database newer than this code is refused
 * with a coded error before anything is touched. The Redis namespace follows the same rules.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { platformNodeArgs } from '../../app/node-flags.js';
import { REPO_ROOT } from '../../core/config.js';
import { isStreetWatchError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { REDIS_SCHEMA_VERSION } from '../../core/store/redis/migrations.js';
import { RedisStateStore } from '../../core/store/redis/state.js';
import { openDatabase } from '../../core/store/sqlite/open.js';
import { latestVersion } from '../../core/store/sqlite/migrations.js';
import { STATE_MIGRATIONS } from '../../core/store/sqlite/schema.js';
import { MAX_TIMELINE_ENTRIES } from '../../core/tickets/timeline.js';
import { SERIES_MIGRATIONS, SqliteSeriesStore } from '../../core/store/sqlite/series.js';
import { SqliteStateStore } from '../../core/store/sqlite/state.js';
import { dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { FIXTURE_CITY, startTestPlatform, tempDir, waitFor } from '../support/harness.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'datadir-8ebae98');
const workload = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'workload.json'), 'utf8')) as {
  secrets: Record<string, string>;
  readings: [string, string, number, number][];
  ticket: string;
  adminToken: string;
};

/** A copy of the fixture, as an operator's data directory would be before the upgrade. */
function previousRelease(): string {
  const dir = tempDir('upgrade');
  for (const f of fs.readdirSync(FIXTURE)) fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
  return dir;
}

/** The fixture city with the deadman rule the workload ran with. */
function workloadCity(): string {
  const dir = tempDir('city');
  for (const f of fs.readdirSync(FIXTURE_CITY)) fs.copyFileSync(path.join(FIXTURE_CITY, f), path.join(dir, f));
  fs.appendFileSync(
    path.join(dir, 'rules.yaml'),
    '\n  - id: device-silent\n    name: 设备离线\n    kind: deadman\n    metric: water_level\n    after: 1h\n    zones: { kind: underpass }\n    grade: D\n    category: flooding\n    department: water-affairs\n',
  );
  return dir;
}

const userVersion = (file: string): number => {
  const db = openDatabase(file);
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};

describe('upgrading the embedded stores', () => {
  it('migrates a data directory of the release before versions, keeping every device, ticket, token, reading and rule state', async () => {
    const dir = previousRelease();
    expect(userVersion(path.join(dir, 'state.db'))).toBe(0);
    const state = new SqliteStateStore(dir);
    const series = new SqliteSeriesStore(dir);
    try {
      expect(userVersion(path.join(dir, 'state.db'))).toBe(latestVersion(STATE_MIGRATIONS));
      expect(userVersion(path.join(dir, 'readings.db'))).toBe(latestVersion(SERIES_MIGRATIONS));
      expect((await state.devices.list()).map((d) => d.id)).toEqual(Object.keys(workload.secrets).sort());
      const ticket = await state.tickets.get(workload.ticket);
      expect(ticket).toMatchObject({ status: 'acknowledged', subcenterId: 'north' });
      // Listed for its department, as tickets saved since are.
      expect((await state.tickets.list({ department: ticket!.department })).map((t) => t.id)).toEqual([workload.ticket]);
      expect((await state.outbox.forTicket(workload.ticket)).map((m) => m.state)).toEqual(['delivered', 'delivered']);
      expect(await state.tokens.list('north')).toHaveLength(1);
      const stored = await series.query({ from: 0, to: Number.MAX_SAFE_INTEGER });
      expect(stored.map((r) => [r.deviceId, r.metric, r.ts, r.value]).sort()).toEqual([...workload.readings].sort());
      // One device's readings, from the index by device once the worker built it from the old rows.
      const wl1 = workload.readings.filter(([d]) => d === 'wl-1').length;
      await expect.poll(async () => (await series.query({ deviceId: 'wl-1', from: 0, to: Number.MAX_SAFE_INTEGER })).length).toBe(wl1);
      // The readings' layout of today: unique by time first, the roll-ups, the embedded bus's log.
      const layout = series.database.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name").all().map((r) => r.name);
      expect(layout).toEqual(expect.arrayContaining(['readings_time', 'readings_5m', 'readings_1h', 'bus_sw_raw', 'bus_groups', 'bus_parked']));
      expect(layout).not.toContain('readings_key');
      // Rule state of each device now lives under the device's prefix.
      const moved = await state.kv.scanPrefix('device:wl-1:');
      expect(moved.keys.sort()).toEqual(['device:wl-1:rule:device-silent:deadman', 'device:wl-1:rule:tunnel-flooding']);
      expect((await state.kv.getMany(['device:wl-1:rule:tunnel-flooding'])).get('device:wl-1:rule:tunnel-flooding')).toMatchObject({ phase: 'firing' });
      expect((await state.kv.scanPrefix('rule:')).keys).toEqual([]);
    } finally {
      await state.close();
      await series.close();
    }
  });

  it('bounds the timelines of tickets written before timelines were bounded, keeping what KPIs read', async () => {
    const dir = previousRelease();
    const db = openDatabase(path.join(dir, 'state.db'));
    const { body } = db.prepare<[string], { body: string }>('SELECT body FROM tickets WHERE id = ?').get(workload.ticket)!;
    const ticket = JSON.parse(body) as Record<string, unknown> & { timeline: { at: number; actor: string; action: string; note?: string }[] };
    // A runaway ticket of the old release: hundreds of notes, then closed.
    for (let i = 0; i < 500; i++) ticket.timeline.push({ at: 10_000 + i, actor: 'unit:north', action: 'feedback', note: `round ${i}` });
    ticket.timeline.push({ at: 20_000, actor: 'admin', action: 'closed' });
    db.prepare('UPDATE tickets SET body = ?, status = ? WHERE id = ?').run(JSON.stringify({ ...ticket, status: 'closed' }), 'closed', workload.ticket);
    db.close();
    const state = new SqliteStateStore(dir);
    try {
      const after = (await state.tickets.get(workload.ticket))!;
      expect(after.timeline.length).toBeLessThanOrEqual(MAX_TIMELINE_ENTRIES);
      expect(after.timeline.map((e) => e.action)).toContain('summarized');
      expect(after.timeline.at(-1)).toMatchObject({ action: 'closed', at: 20_000 });
      expect(after.timeline.slice(0, 2)).toEqual(ticket.timeline.slice(0, 2));
      const { timeline: _a, ...rest } = after;
      const { timeline: _b, ...before } = ticket;
      expect(rest).toEqual({ ...before, status: 'closed' });
    } finally {
      await state.close();
    }
  });

  it('runs on the migrated directory: the old admin token, device secrets, tickets and rule state all still work', async () => {
    const dataDir = previousRelease();
    const sw = await startTestPlatform({ dataDir, cityDir: workloadCity() });
    try {
      const ticket = await sw.api('GET', `/api/tickets/${workload.ticket}`, undefined, workload.adminToken);
      expect(ticket).toMatchObject({ status: 200, body: { status: 'acknowledged' } });
      // wl-1 was firing: back under the line it resolves the same alert, on the same ticket.
      const device = await sw.connect('wl-1', workload.secrets['wl-1']!);
      await device.publishAsync('v1/devices/wl-1/telemetry', JSON.stringify({ values: { water_level: 0.05 } }), { qos: 1 });
      await waitFor(async () => {
        const t = (await sw.api('GET', `/api/tickets/${workload.ticket}`)).body as { alerts: { status: string }[] };
        return t.alerts.every((a) => a.status === 'resolved') || undefined;
      }, 'the old alert resolved');
      expect((await sw.api('GET', '/api/tickets')).body.tickets).toHaveLength(1);
    } finally {
      await sw.stop();
    }
  });

  it('refuses a database written by a newer release, saying which file and which versions, and changes nothing', async () => {
    for (const [file, open] of [
      ['state.db', (d: string) => new SqliteStateStore(d)],
      ['readings.db', (d: string) => new SqliteSeriesStore(d)],
    ] as const) {
      const dir = previousRelease();
      const db = openDatabase(path.join(dir, file));
      const newer = (file === 'state.db' ? latestVersion(STATE_MIGRATIONS) : latestVersion(SERIES_MIGRATIONS)) + 1;
      db.pragma(`user_version = ${newer}`);
      const tables = db.prepare('SELECT name FROM sqlite_master ORDER BY name').all();
      db.close();
      let refusal: unknown;
      try {
        await open(dir).close();
      } catch (err) {
        refusal = err;
      }
      expect(isStreetWatchError(refusal, 'SW_ERR_SCHEMA_NEWER')).toBe(true);
      expect((refusal as Error).message).toContain(`${file} has schema version ${newer}, and this StreetWatch knows versions up to ${newer - 1}`);
      const after = openDatabase(path.join(dir, file));
      expect(after.prepare('SELECT name FROM sqlite_master ORDER BY name').all()).toEqual(tables);
      after.close();
    }
  });

  it('npm start stops with the coded refusal and a non-zero exit', async () => {
    const dir = previousRelease();
    const db = openDatabase(path.join(dir, 'state.db'));
    db.pragma(`user_version = ${latestVersion(STATE_MIGRATIONS) + 1}`);
    db.close();
    const run = promisify(execFile)(process.execPath, platformNodeArgs(path.join(REPO_ROOT, 'app', 'main.ts')), {
      cwd: REPO_ROOT,
      env: { ...process.env, STREETWATCH_DATA_DIR: dir, MQTT_PORT: '0', HTTP_PORT: '0', MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
      timeout: 60_000,
    });
    const failure = (await run.then(() => undefined, (e: unknown) => e)) as { code: number; stderr: string };
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(/^streetwatch: SW_ERR_SCHEMA_NEWER: state\.db has schema version \d+/m);
  });
});

const services = testServices();

describe.skipIf(!services)('upgrading a Redis namespace', () => {
  const used: string[] = [];
  afterAll(() => Promise.all(used.map((ns) => dropNamespace(services!, ns))));
  const logger = createLogger('silent');

  it('migrates keys written before versions, and refuses a newer namespace', async () => {
    const ns = testNamespace();
    used.push(ns);
    const redis = new Redis(services!.REDIS_URL);
    try {
      // What a release before versions left: rule state under the rule, a delivered message.
      await redis.set(`${ns}sw:kv:rule:tunnel-flooding:wl-1`, JSON.stringify({ phase: 'firing', since: 5, lastTs: 6 }));
      await redis.set(`${ns}sw:kv:rule:silent:deadman:wl-1`, JSON.stringify({ s: { phase: 'ok' } }));
      await redis.set(`${ns}sw:kv:rule:busy:composite:zone:z1`, JSON.stringify({ s: {} }));
      await redis.hset(`${ns}sw:ob:m1`, { tid: 'T1', state: 'delivered', next: '1000', channel: 'webhook', sc: 'north', event: 'e', body: '{}', ca: '1', attempts: '1' });
      await redis.zadd(`${ns}sw:obt:T1`, 1, 'm1');
      const runaway = { id: 'T9', status: 'closed', timeline: Array.from({ length: 300 }, (_, i) => ({ at: i, actor: 'unit:north', action: 'feedback', note: `round ${i}` })) };
      await redis.hset(`${ns}sw:t:T9`, { v: '7', st: 'closed', body: JSON.stringify(runaway) });
      await redis.hset(`${ns}sw:t:T8`, { v: '2', st: 'dispatched', body: JSON.stringify({ id: 'T8', status: 'dispatched', department: 'water-affairs', createdAt: 42, timeline: [] }) });
      const store = new RedisStateStore({ url: services!.REDIS_URL, namespace: ns, logger });
      await store.connect();
      expect(Number(await redis.get(`${ns}sw:schema`))).toBe(REDIS_SCHEMA_VERSION);
      expect((await scanAll(store, 'device:wl-1:')).sort()).toEqual(['device:wl-1:rule:silent:deadman', 'device:wl-1:rule:tunnel-flooding']);
      expect((await store.kv.getMany(['rule:busy:composite:zone:z1'])).size).toBe(1);
      expect(await store.outbox.pruneSettled(2_000, 10)).toBe(1);
      expect(await store.outbox.forTicket('T1')).toEqual([]);
      const bounded = JSON.parse((await redis.hget(`${ns}sw:t:T9`, 'body'))!) as { timeline: { action: string }[] };
      expect(bounded.timeline.length).toBeLessThanOrEqual(MAX_TIMELINE_ENTRIES);
      expect(bounded.timeline.map((e) => e.action)).toContain('summarized');
      // Indexed under its department, as save-ticket.lua indexes tickets saved since.
      expect(await redis.zrange(`${ns}sw:tidx:dp:water-affairs`, '0', '-1', 'WITHSCORES')).toEqual(['T8', '42']);
      expect(await redis.smembers(`${ns}sw:tdps:T8`)).toEqual(['water-affairs']);
      await store.close();

      await redis.set(`${ns}sw:schema`, String(REDIS_SCHEMA_VERSION + 1));
      const newer = new RedisStateStore({ url: services!.REDIS_URL, namespace: ns, logger });
      const refusal = await newer.connect().catch((e: unknown) => e);
      expect(isStreetWatchError(refusal, 'SW_ERR_SCHEMA_NEWER')).toBe(true);
      expect((refusal as Error).message).toContain(`Redis namespace "${ns}sw:"`);
      await newer.close();
    } finally {
      redis.disconnect();
    }
  });
});

/** Every key under a prefix: SCAN pages may come back empty before the end on a shared Redis. */
async function scanAll(store: RedisStateStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.kv.scanPrefix(prefix, cursor);
    keys.push(...page.keys);
    cursor = page.next;
  } while (cursor !== undefined);
  return keys;
}
