import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { busContract } from '../../test/contract/bus.contract.js';
import { swError } from '../errors.js';
import type { DeadLetter, RawPublish } from '../schemas.js';
import { LOG_SCHEMA_V1 } from './sqlite-log-store.js';
import { BUS_DATABASE_FILE, SqliteLogBus, type SqliteLogBusOptions } from './sqlite-log.js';

describe('SqliteLogBus', () => {
  const dirs: string[] = [];
  // A data directory per test: the buses a test makes (a restarted member) share its log.
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-bus-'));
    dirs.push(dir);
  });
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  busContract('sqlite log', async () => SqliteLogBus.open(dir), { durable: true });
});

describe('SqliteLogBus, embedded specifics', () => {
  const open: SqliteLogBus[] = [];
  const dirs: string[] = [];
  const dataDir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-bus-'));
    dirs.push(d);
    return d;
  };
  const logBus = (dir: string, opts: Omit<SqliteLogBusOptions, 'database' | 'ownsDatabase'> = {}): SqliteLogBus => {
    const b = SqliteLogBus.open(dir, opts);
    open.push(b);
    return b;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const held = (b: SqliteLogBus, topic = 'sw_deadletter'): number => (b.database.prepare(topic === 'parked' ? 'SELECT count(*) AS n FROM bus_parked' : `SELECT coalesce(sum(n), 0) AS n FROM bus_${topic}`).get() as { n: number }).n;

  it('makes a publish wait while a group has the bound not yet taken, and lets it through as the group catches up', async () => {
    const b = logBus(dataDir(), { maxPendingRecords: 100 });
    const gate = deferred();
    const seen: number[] = [];
    await b.subscribe('sw.deadletter', 'slow', async (rs) => {
      await gate.promise;
      seen.push(...rs.map((r) => r.value.receivedAt));
    });
    // An empty backlog takes a publish of any size; the next one does not fit beside it.
    await b.publish('sw.deadletter', range(1, 100).map((n) => ({ key: `d${n % 7}`, value: letter(`d${n % 7}`, n) })));
    let resolved = false;
    const waiting = b.publish('sw.deadletter', range(101, 110).map((n) => ({ key: 'k', value: letter('k', n) }))).then(() => void (resolved = true));
    await settleTurns();
    expect(resolved).toBe(false);
    expect(b.backlog()).toBeGreaterThanOrEqual(100);
    gate.resolve();
    await waiting;
    await until(() => seen.length === 110);
    expect(new Set(seen).size).toBe(110);
  });

  it('refuses a publish when the bound of bytes waits already, beyond what fills the log', async () => {
    const b = logBus(dataDir(), { maxPendingBytes: 1024 * 1024 });
    const gate = deferred();
    await b.subscribe('sw.deadletter', 'stuck', async () => gate.promise);
    const big = (n: number) => ({ key: 'k', value: { ...letter('k', n), payload: 'x'.repeat(100_000) } });
    // About 1 MiB in the log, then about 1 MiB waiting for room, then no more.
    await b.publish('sw.deadletter', range(1, 10).map(big));
    const waiting = range(11, 20).map((n) => b.publish('sw.deadletter', [big(n)]));
    const refused = await b.publish('sw.deadletter', [big(21)]).then(
      () => 'accepted',
      (err: { code?: string }) => err.code,
    );
    expect(refused).toBe('SW_ERR_UNAVAILABLE');
    gate.resolve();
    await Promise.all(waiting);
  });

  it('refuses a publish when a tenth of the bound waits already (at least a thousand)', async () => {
    const b = logBus(dataDir(), { maxPendingRecords: 100 });
    const gate = deferred();
    await b.subscribe('sw.deadletter', 'stuck', async () => gate.promise);
    await b.publish('sw.deadletter', range(1, 100).map((n) => ({ key: 'k', value: letter('k', n) })));
    const waiting = range(101, 1_100).map((n) => b.publish('sw.deadletter', [{ key: 'k', value: letter('k', n) }]));
    await expect(b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 1_101) }])).rejects.toMatchObject({ code: 'SW_ERR_UNAVAILABLE' });
    gate.resolve();
    await Promise.all(waiting);
  });

  it('holds a raw publish with a payload of its own, not the socket read it was cut from', async () => {
    const b = logBus(dataDir());
    let got: RawPublish | undefined;
    await b.subscribe('sw.raw', 'ingest', async (rs) => {
      got = rs[0]!.value;
    });
    const read = Buffer.alloc(64 * 1024, 0x20);
    read.write('{"values":{}}', 100);
    const payload = read.subarray(100, 113);
    await b.publish('sw.raw', [{ key: 'd1', value: { id: 'r1', clientId: 'd1', topic: 'v1/devices/d1/telemetry', payload, qos: 1, receivedAt: 1 } }]);
    await until(() => got !== undefined);
    expect(got!.payload.toString()).toBe('{"values":{}}');
    expect(got!.payload.buffer).not.toBe(read.buffer);
  });

  it('keeps a record committed before a crash, and the position of a group that had taken it', async () => {
    const dir = dataDir();
    const first = logBus(dir);
    const seen: number[] = [];
    await first.subscribe('sw.deadletter', 'g', async (rs) => void seen.push(...rs.map((r) => r.value.receivedAt)));
    await first.publish('sw.deadletter', [1, 2, 3].map((n) => ({ key: 'k', value: letter('k', n) })));
    await until(() => seen.length === 3);
    await until(() => first.backlog() === 0);
    await first.publish('sw.deadletter', [4].map((n) => ({ key: 'k', value: letter('k', n) })));
    // No close: the process died. What the group took may come again (at least once); nothing is lost.
    const second = logBus(dir);
    const again: number[] = [];
    await second.subscribe('sw.deadletter', 'g', async (rs) => void again.push(...rs.map((r) => r.value.receivedAt)));
    await until(() => again.includes(4));
    expect(again.at(-1)).toBe(4);
    expect(again.every((n) => n >= 1 && n <= 4)).toBe(true);
  });

  it('commits a batch, what its handler published and wrote, and its position in one transaction', async () => {
    const b = logBus(dataDir());
    b.database.exec('CREATE TABLE effects (n INTEGER PRIMARY KEY)');
    const insert = b.database.prepare('INSERT INTO effects (n) VALUES (?)');
    const out: number[] = [];
    await b.subscribe('sw.readings', 'downstream', async (rs) => void out.push(...rs.map((r) => r.value.ts)));
    let failOnce = true;
    await b.subscribe('sw.deadletter', 'stage', async (rs, batch) => {
      for (const r of rs) {
        expect(batch.joinCommit(b.database, () => insert.run(r.value.receivedAt))).toBe(true);
        batch.publish('sw.readings', [{ key: r.key, value: { deviceId: r.key, metric: 'smoke', value: 1, ts: r.value.receivedAt, receivedAt: 0, zoneIds: [], ref: 'x' } }]);
      }
      // The second write of the batch fails at commit the first time: nothing of the batch may remain.
      if (failOnce) {
        failOnce = false;
        expect(batch.joinCommit(b.database, () => insert.run(rs[0]!.value.receivedAt))).toBe(true);
      }
      expect(batch.joinCommit({}, () => undefined)).toBe(false);
    });
    await b.publish('sw.deadletter', [1, 2, 3].map((n) => ({ key: 'k', value: letter('k', n) })));
    await until(() => out.length >= 3);
    await until(() => b.backlog() === 0);
    expect(out).toEqual([1, 2, 3]);
    expect(b.database.prepare('SELECT n FROM effects ORDER BY n').all()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('runs a batch\'s follow-ups once it has committed, never for an attempt whose commit failed', async () => {
    const b = logBus(dataDir());
    b.database.exec('CREATE TABLE effects (n INTEGER PRIMARY KEY)');
    const insert = b.database.prepare('INSERT INTO effects (n) VALUES (?)');
    const stored = b.database.prepare('SELECT count(*) AS n FROM effects WHERE n = ?');
    const followed: { batch: number[]; stored: boolean }[] = [];
    let attempts = 0;
    await b.subscribe('sw.deadletter', 'stage', async (rs, batch) => {
      attempts++;
      for (const r of rs) batch.joinCommit(b.database, () => insert.run(r.value.receivedAt));
      // The first attempt fails at commit (the same row twice): its follow-up must not run.
      if (attempts === 1) batch.joinCommit(b.database, () => insert.run(rs[0]!.value.receivedAt));
      const ns = rs.map((r) => r.value.receivedAt);
      batch.afterCommit(() => void followed.push({ batch: ns, stored: ns.every((n) => (stored.get(n) as { n: number }).n === 1) }));
      // A failing follow-up is logged: the committed batch is not handed over again.
      batch.afterCommit(() => Promise.reject(new Error('follow-up failed')));
    });
    await b.publish('sw.deadletter', [1, 2, 3].map((n) => ({ key: 'k', value: letter('k', n) })));
    await until(() => followed.flatMap((f) => f.batch).length === 3 && b.backlog() === 0);
    expect(attempts).toBeGreaterThan(1);
    // Each record followed up once, after its batch's rows were in the table.
    expect(followed.flatMap((f) => f.batch)).toEqual([1, 2, 3]);
    expect(followed.every((f) => f.stored)).toBe(true);
  });

  it('prunes what every group has taken, and holds what an absent group has not only up to the bound', async () => {
    const dir = dataDir();
    const skipped: number[] = [];
    const b = logBus(dir, { maxPendingRecords: 200, onSkipped: (_t, _g, n) => void skipped.push(n) });
    // A group that leaves at the start and comes back at the end.
    await (await b.subscribe('sw.deadletter', 'away', async () => undefined)).close();
    let taken = 0;
    await b.subscribe('sw.deadletter', 'here', async (rs) => void (taken += rs.length));
    for (let i = 0; i < 10; i++) {
      await b.publish('sw.deadletter', range(i * 100 + 1, i * 100 + 100).map((n) => ({ key: 'k', value: letter('k', n) })));
    }
    await until(() => taken === 1_000);
    await until(() => b.backlog() === 0 && held(b) <= 200 + 100);
    const back: number[] = [];
    await b.subscribe('sw.deadletter', 'away', async (rs) => void back.push(...rs.map((r) => r.value.receivedAt)));
    await until(() => back.includes(1_000));
    expect(skipped.length).toBe(1);
    expect(skipped[0]! + back.length).toBe(1_000);
    expect(back).toEqual(range(1_001 - back.length, 1_000));
    // Once both have taken everything, nothing is held.
    await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 1_001) }]);
    await until(() => held(b) <= 1);
  });

  it('forgets a group that has had no subscriber for its retention', async () => {
    let now = 1_000_000;
    const b = logBus(dataDir(), { maxPendingRecords: 100_000, groupRetentionMs: 60_000, maintenanceIntervalMs: 10, now: () => now });
    await (await b.subscribe('sw.deadletter', 'gone', async () => undefined)).close();
    await b.publish('sw.deadletter', range(1, 50).map((n) => ({ key: 'k', value: letter('k', n) })));
    await settleTurns();
    expect(held(b)).toBe(50);
    now += 61_000;
    await until(() => held(b) === 0);
    expect(b.database.prepare("SELECT count(*) AS n FROM bus_groups WHERE grp = 'gone'").get()).toEqual({ n: 0 });
  });

  it('stores the publishes of one turn as one row, and a group behind reads it from any record in it', async () => {
    const b = logBus(dataDir());
    await (await b.subscribe('sw.raw', 'behind', async () => undefined)).close();
    const raw = (n: number): RawPublish => ({ id: `r${n}`, clientId: 'd1', topic: 'v1/devices/d1/telemetry', payload: Buffer.from([n % 256, 0, 0xff, n >> 8]), qos: 1, receivedAt: n });
    // Three hundred devices' publishes in one turn, as the broker makes them.
    await Promise.all(range(1, 300).map((n) => b.publish('sw.raw', [{ key: `d${n % 7}`, value: raw(n) }])));
    expect(b.database.prepare('SELECT count(*) AS rows, sum(n) AS records FROM bus_sw_raw').get()).toEqual({ rows: 1, records: 300 });
    const got: { key: string; value: RawPublish }[] = [];
    const batches: number[] = [];
    await b.subscribe(
      'sw.raw',
      'behind',
      async (rs) => {
        batches.push(rs.length);
        got.push(...rs);
      },
      { maxBatch: 120 },
    );
    await until(() => got.length === 300);
    // The second and third batches start inside the row.
    expect(batches).toEqual([120, 120, 60]);
    expect(got.map((r) => r.key)).toEqual(range(1, 300).map((n) => `d${n % 7}`));
    expect(got.map((r) => r.value)).toEqual(range(1, 300).map(raw));
  });

  /** A full collection, so a WeakRef tells whether anything still holds its target. */
  const forceGc = (): void => {
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
  };

  /**
   * Group `g` on the dead letters, holding record n (its `receivedAt`) until `gates[n - 1]` is
   * resolved; `handled` lists the records it has started on.
   */
  const gatedGroup = async (b: SqliteLogBus, n: number): Promise<{ gates: ReturnType<typeof deferred>[]; handled: number[] }> => {
    const gates = Array.from({ length: n }, () => deferred());
    const handled: number[] = [];
    await b.subscribe('sw.deadletter', 'g', async (rs) => {
      for (const r of rs) {
        handled.push(r.value.receivedAt);
        await gates[r.value.receivedAt - 1]!.promise;
      }
    });
    return { gates, handled };
  };

  it('lets go of a record every group has taken while the tail in memory still holds later ones', async () => {
    const b = logBus(dataDir());
    const { gates, handled } = await gatedGroup(b, 2);
    // Published from a scope of its own: the log holds the only reference to the record.
    const first = await (async () => {
      const value = letter('k', 1);
      await b.publish('sw.deadletter', [{ key: 'k', value }]);
      return new WeakRef(value);
    })();
    await until(() => handled.length === 1);
    // The second joins the tail while the group is inside the first one's batch...
    await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 2) }]);
    gates[0]!.resolve();
    // ...and the group takes it next: the tail holds the second, and no longer the first.
    await until(() => handled.length === 2);
    await settleTurns();
    forceGc();
    expect(first.deref()).toBeUndefined();
    gates[1]!.resolve();
  });

  it('lets go of a publish that waited for room once it is taken, while later ones still wait', async () => {
    // Room for one record: each publish waits until the group has taken the one before.
    const b = logBus(dataDir(), { maxPendingRecords: 1 });
    const { gates, handled } = await gatedGroup(b, 4);
    await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 1) }]);
    await until(() => handled.length === 1);
    // Three wait behind the first; the second is published from a scope of its own.
    const second = (() => {
      const value = letter('k', 2);
      void b.publish('sw.deadletter', [{ key: 'k', value }]);
      return new WeakRef(value);
    })();
    void b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 3) }]);
    void b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 4) }]);
    gates[0]!.resolve();
    await until(() => handled.length === 2);
    gates[1]!.resolve();
    // The group has taken the second and holds the third; the fourth still waits for room.
    await until(() => handled.length === 3);
    await settleTurns();
    forceGc();
    expect(second.deref()).toBeUndefined();
    gates[2]!.resolve();
    gates[3]!.resolve();
    await until(() => handled.length === 4);
  });

  it('reports each batch handled: its records, and the time from its handler\'s start to its commit', async () => {
    let report!: (r: { topic: string; group: string; count: number; seconds: number }) => void;
    const reported = new Promise<{ topic: string; group: string; count: number; seconds: number }>((r) => (report = r));
    const b = logBus(dataDir(), { commitGapMs: 0, onHandled: (topic, group, count, seconds) => report({ topic, group, count, seconds }) });
    await b.subscribe('sw.deadletter', 'slow', async () => {
      // A handler that holds the event loop for 30 ms.
      const until = performance.now() + 30;
      while (performance.now() < until);
    });
    await b.publish('sw.deadletter', range(1, 3).map((n) => ({ key: 'k', value: letter('k', n) })));
    const first = await reported;
    expect(first).toMatchObject({ topic: 'sw.deadletter', group: 'slow', count: 3 });
    expect(first.seconds).toBeGreaterThanOrEqual(0.03);
    expect(first.seconds).toBeLessThan(5);
  });

  it('commits what turns of the event loop make within the commit gap together', async () => {
    const rows = (b: SqliteLogBus): number => (b.database.prepare('SELECT count(*) AS n FROM bus_sw_deadletter').get() as { n: number }).n;
    const publishInTurns = async (b: SqliteLogBus): Promise<void> => {
      // A group away: the log keeps what it has not taken.
      await (await b.subscribe('sw.deadletter', 'away', async () => undefined)).close();
      const done: Promise<void>[] = [];
      // Twenty devices' publishes, each read on a turn of its own.
      for (const n of range(1, 20)) {
        done.push(b.publish('sw.deadletter', [{ key: 'k', value: letter('k', n) }]));
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(done);
    };
    const eager = logBus(dataDir(), { commitGapMs: 0 });
    await publishInTurns(eager);
    expect(rows(eager)).toBe(20);
    // The first publish commits at once; the rest wait out the gap and share one commit.
    const grouped = logBus(dataDir(), { commitGapMs: 200 });
    await publishInTurns(grouped);
    expect(rows(grouped)).toBe(2);
    expect(held(grouped)).toBe(20);
  });

  it('commits writes to the alert path on the next turn, within the commit gap, taking what waits along', async () => {
    const rows = (b: SqliteLogBus, table: string): number => (b.database.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const b = logBus(dataDir(), { commitGapMs: 60_000 });
    for (const topic of ['sw.deadletter', 'sw.alerts'] as const) await (await b.subscribe(topic, 'away', async () => undefined)).close();
    // The first publish commits at once; the next waits out the gap (a minute here).
    await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 1) }]);
    let waited = false;
    const waiting = b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 2) }]).then(() => (waited = true));
    await new Promise((r) => setImmediate(r));
    expect(waited).toBe(false);
    // Alerts, each read on a turn of its own, commit one by one; the waiting publish rides along.
    for (const n of range(1, 3)) {
      await b.publish('sw.alerts', [{ key: `a${n}`, value: { fingerprint: `a${n}` } as never }]);
      await waiting;
    }
    expect(waited).toBe(true);
    expect(rows(b, 'bus_sw_alerts')).toBe(3);
    expect(rows(b, 'bus_sw_deadletter')).toBe(2);
  });

  it('commits the position of a group that only reads within the commit interval, not with every turn', async () => {
    const b = logBus(dataDir(), { commitGapMs: 0, commitIntervalMs: 1_000 });
    b.database.exec(`CREATE TEMP TABLE moves (n INTEGER);
      CREATE TEMP TRIGGER counted AFTER UPDATE OF position ON bus_groups WHEN new.grp = 'g' AND new.position <> old.position BEGIN INSERT INTO moves VALUES (new.position); END;`);
    const taken: number[] = [];
    await b.subscribe('sw.deadletter', 'g', async (rs) => void taken.push(...rs.map((r) => r.value.receivedAt)));
    const committed = (): number => (b.database.prepare("SELECT position FROM bus_groups WHERE topic = 'sw.deadletter' AND grp = 'g'").get() as { position: number }).position;
    const start = committed();
    const at = performance.now();
    // Twenty publishes, each committed on a turn of its own and taken in a batch of its own.
    for (const n of range(1, 20)) {
      await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', n) }]);
      await until(() => taken.length === n);
    }
    await until(() => committed() === start + 20);
    // Once, or twice when the publishes took longer than half the interval: not twenty times.
    const moves = (b.database.prepare('SELECT count(*) AS n FROM moves').get() as { n: number }).n;
    expect(moves).toBeLessThanOrEqual(Math.ceil((performance.now() - at) / 500) + 1);
    expect(moves).toBeLessThan(5);
  });

  it('reads a log written in the first layout, a row per record, from where each group stood', async () => {
    const dir = dataDir();
    const old = new Database(path.join(dir, BUS_DATABASE_FILE));
    old.exec(LOG_SCHEMA_V1);
    const append = (table: string) => old.prepare(`INSERT INTO ${table} (seq, key, value, payload, appended_at) VALUES (?, ?, ?, ?, 0)`);
    [1, 2, 3].forEach((n) => append('bus_sw_deadletter').run(n, 'k', JSON.stringify(letter('k', n)), null));
    append('bus_sw_raw').run(7, 'd"1', JSON.stringify({ id: 'r7', clientId: 'd"1', topic: 'v1/devices/d"1/telemetry', qos: 1, receivedAt: 7 }), Buffer.from([0, 1, 2]));
    old.prepare("INSERT INTO bus_groups (topic, grp, position, seen_at) VALUES ('sw.deadletter', 'g', 2, ?), ('sw.raw', 'g', 7, ?)").run(Date.now(), Date.now());
    old.close();

    const b = logBus(dir);
    const letters: number[] = [];
    const raws: { key: string; value: RawPublish }[] = [];
    await b.subscribe('sw.deadletter', 'g', async (rs) => void letters.push(...rs.map((r) => r.value.receivedAt)));
    await b.subscribe('sw.raw', 'g', async (rs) => void raws.push(...rs));
    await b.publish('sw.deadletter', [{ key: 'k', value: letter('k', 4) }]);
    await until(() => letters.length === 3 && raws.length === 1);
    expect(letters).toEqual([2, 3, 4]);
    expect(raws).toEqual([{ key: 'd"1', value: { id: 'r7', clientId: 'd"1', topic: 'v1/devices/d"1/telemetry', qos: 1, receivedAt: 7, payload: Buffer.from([0, 1, 2]) } }]);
    expect(b.database.prepare("SELECT name FROM pragma_table_info('bus_sw_raw')").all().map((c) => (c as { name: string }).name)).toContain('payload_sizes');
  });

  it('keeps parked records for their retention and at most the newest maxParked of them', async () => {
    let now = 1_000_000;
    // Time moves on with each look at it: the records are parked one after the other.
    const b = logBus(dataDir(), { maxParked: 3, parkedRetentionMs: 60_000, maintenanceIntervalMs: 10, now: () => now++ });
    let taken = 0;
    await b.subscribe('sw.deadletter', 'g', async (rs) => {
      if (rs.some((r) => r.value.receivedAt % 2 === 0)) throw swError('SW_ERR_INTERNAL', 'even');
      taken += rs.length;
    });
    await b.publish('sw.deadletter', range(1, 10).map((n) => ({ key: 'k', value: letter('k', n) })));
    await until(() => taken === 5);
    await until(() => b.backlog() === 0);
    await until(() => held(b, 'parked') === 3);
    expect((await b.listParked()).map((p) => (p.value as { receivedAt: number }).receivedAt)).toEqual([10, 8, 6]);
    now += 61_000;
    await until(() => held(b, 'parked') === 0);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function letter(deviceId: string, n: number): DeadLetter {
  return { ref: `r${n}`, deviceId, clientId: deviceId, topic: `v1/devices/${deviceId}/telemetry`, code: 'SW_ERR_PAYLOAD_JSON', message: `m${n}`, receivedAt: n, payload: '', truncated: false };
}

async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets the log run the turns already due (commits, deliveries) before looking at what did not happen. */
async function settleTurns(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
