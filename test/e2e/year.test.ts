/**
 * A year of a 1,000-device city in a few minutes: the real embedded platform (ingest, detectors,
 * alerting, the API and the retention job) driven through its bus with a controllable clock.
 * Every device reports once a day; tunnel sensors flap over the flooding line every fortnight;
 * two districts go dark for three days (an outage); three devices die for good in July; one is
 * deleted at midyear; operators acknowledge, handle and close every ticket. At the end: no raw
 * reading is older than the retention, the roll-ups hold the whole year (every reading counted
 * once), each month's KPIs are what they were when the month was done, the deleted device left
 * nothing behind, the dead devices left the deadman rule's list, and the stores stopped growing
 * except for the hourly roll-ups, kept for years by design.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { RawPublish, Ticket } from '../../core/schemas.js';
import { readSeries } from '../../core/retention/series-read.js';
import { subjectsKey } from '../../detectors/subjects.js';
import { ManualClock } from '../support/clock.js';
import { cityWithWebhooks, startTestPlatform, startWebhookReceiver, type TestPlatform } from '../support/harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const YEAR_START = Date.UTC(2025, 0, 1);
const DAYS = 365;
const DEVICES = 1_000;
/** Each device reports at one of these hours of the day. */
const STEPS_PER_DAY = 4;
const TUNNEL = 20;
const FLAPPING = 5;
const DEAD = ['yr-0100', 'yr-0101', 'yr-0102'];
const DELETED = 'yr-0007';
const OUTAGES = [
  { from: 100, days: 3, devices: (i: number) => i >= 500 && i < 600 },
  { from: 230, days: 3, devices: (i: number) => i >= 800 && i < 900 },
];

const deviceId = (i: number): string => `yr-${String(i).padStart(4, '0')}`;
/** The first TUNNEL devices in the north tunnel, the others on a grid over both sub-centers. */
function place(i: number): { lat: number; lon: number } {
  if (i < TUNNEL) return { lat: 23.141 + (i % 5) * 0.002, lon: 113.311 + Math.floor(i / 5) * 0.002 };
  const k = i - TUNNEL;
  return { lat: 23.101 + (Math.floor(k / 40) % 29) * 0.002, lon: 113.321 + (k % 40) * 0.0004 };
}

function city(webhook: string): string {
  const dir = cityWithWebhooks({ north: { url: webhook, secret: 'north-webhook-secret-0001' } });
  fs.appendFileSync(
    path.join(dir, 'rules.yaml'),
    '\n  - id: sensor-silent\n    kind: deadman\n    metric: water_level\n    after: 36h\n    grade: D\n    category: flooding\n    department: water-affairs\n',
  );
  return dir;
}

/** Bytes of the tables (with their indexes) whose names start with each prefix, from SQLite's dbstat. */
function tableBytes(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare<[], { name: string; bytes: number }>('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all();
    const owner = (name: string): string => (name.startsWith('readings_5m') ? '5m' : name.startsWith('readings_1h') ? '1h' : name.startsWith('readings') ? 'raw' : 'other');
    const out: Record<string, number> = { raw: 0, '5m': 0, '1h': 0, other: 0 };
    for (const r of rows) out[owner(r.name)]! += r.bytes;
    return out;
  } finally {
    db.close();
  }
}

const fileBytes = (file: string): number => [file, `${file}-wal`].reduce((n, f) => n + (fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);

describe('a time-compressed year of a 1,000-device city', () => {
  const clock = new ManualClock(YEAR_START);
  let sw: TestPlatform;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  afterAll(async () => {
    await sw?.stop();
    await hook?.close();
  });

  it('keeps what it must, forgets what it may, and levels off', async () => {
    hook = await startWebhookReceiver();
    sw = await startTestPlatform({ clock, cityDir: city(hook.url) });
    const { platform } = sw;
    for (let i = 0; i < DEVICES; i++) {
      await platform.state.devices.add({ id: deviceId(i), kind: 'water_level', location: place(i), secretHash: 'not-used', createdAt: clock.now(), status: 'unknown', lastSeen: null, mobile: false, gateway: null, senml: { name: null, map: [] }, lastReadingAt: null, position: null, metrics: [] });
    }
    const readingsDb = path.join(sw.dataDir, 'readings.db');
    /** Readings sent per UTC month (0-11), and per device. */
    const perMonth = new Array<number>(12).fill(0);
    const perDevice = new Map<string, number>();
    const sentAt: number[] = [];
    let ref = 0;
    const send = async (ids: string[], value: (id: string) => number): Promise<void> => {
      if (ids.length === 0) return;
      const now = clock.now();
      const records = ids.map((id) => {
        const raw: RawPublish = { id: `y${ref++}`, clientId: id, topic: `v1/devices/${id}/telemetry`, payload: Buffer.from(JSON.stringify({ values: { water_level: value(id) } })), qos: 1, receivedAt: now };
        return { key: id, value: raw };
      });
      await platform.bus.publish('sw.raw', records);
      perMonth[new Date(now).getUTCMonth()]! += ids.length;
      for (const id of ids) perDevice.set(id, (perDevice.get(id) ?? 0) + 1);
      for (let i = 0; i < ids.length; i++) sentAt.push(now);
    };

    // Operators: each ticket moves one step along its lifecycle at each of their rounds.
    const next: Partial<Record<Ticket['status'], string>> = { dispatched: 'ack', acknowledged: 'start', in_progress: 'resolve', resolved: 'close', reopened: 'start' };
    const operate = async (): Promise<void> => {
      const open: Ticket[] = (await sw.api('GET', '/api/tickets?status=dispatched,acknowledged,in_progress,resolved,reopened&limit=1000')).body.tickets;
      for (const t of open) {
        const action = next[t.status];
        if (action) await sw.api('POST', `/api/tickets/${t.id}/${action}`, { note: 'handled' });
      }
    };

    const monthKpis = new Map<number, unknown>();
    const kpisOf = async (month: number): Promise<unknown> => {
      const from = Date.UTC(2025, month, 1);
      const to = Date.UTC(2025, month + 1, 1);
      const { asOf: _asOf, ...kpis } = (await sw.api('GET', `/api/kpis?from=${from}&to=${to}`)).body as Record<string, unknown>;
      return kpis;
    };
    const sizes: { day: number; file: number; tables: Record<string, number>; rows: Record<string, number | null> }[] = [];

    for (let day = 0; day < DAYS; day++) {
      const flapDay = day % 15 === 7;
      for (let step = 0; step < STEPS_PER_DAY; step++) {
        clock.set(YEAR_START + day * DAY + step * (DAY / STEPS_PER_DAY));
        const ids: string[] = [];
        for (let i = 0; i < DEVICES; i++) {
          const id = deviceId(i);
          if (day >= 180 && id === DELETED) continue;
          if (day >= 200 && DEAD.includes(id)) continue;
          if (OUTAGES.some((o) => day >= o.from && day < o.from + o.days && o.devices(i))) continue;
          const flapping = flapDay && i < FLAPPING;
          if (flapping || i % STEPS_PER_DAY === step) ids.push(id);
        }
        await send(ids, (id) => (flapDay && Number(id.slice(3)) < FLAPPING ? (step % 2 ? 0.1 : 0.5) : 0.05 + (Number(id.slice(3)) % 7) / 100));
        await platform.detectors!.tick();
        await platform.timers!.runOnce();
        await operate();
      }
      if (day === 180) expect((await sw.api('DELETE', `/api/devices/${DELETED}`)).status).toBe(204);
      clock.set(YEAR_START + (day + 1) * DAY - 1);
      await platform.maintenance.run();
      // Ten days into a month, the one before is done: every ticket of it closed.
      const date = new Date(clock.now());
      if (date.getUTCDate() === 10 && date.getUTCMonth() >= 1) monthKpis.set(date.getUTCMonth() - 1, await kpisOf(date.getUTCMonth() - 1));
      if (day % 30 === 29) sizes.push({ day, file: fileBytes(readingsDb), tables: tableBytes(readingsDb), rows: (await platform.series.stats()).rows });
    }
    const now = clock.now();
    await platform.maintenance.run();

    // Raw readings: none older than the retention; the last 30 days all there.
    const retention = platform.config.retention;
    expect(await platform.series.query({ from: 0, to: now - retention.rawMs, limit: 10 })).toEqual([]);
    const recent = sentAt.filter((t) => t >= now - retention.rawMs).length;
    expect((await platform.series.stats()).rows.raw).toBe(recent);
    // The index by device holds what the readings hold: its entries of pruned readings are gone.
    const indexEntries = (): number => {
      const db = new Database(path.join(sw.dataDir, 'readings-by-device.db'), { readonly: true });
      try {
        return db.prepare<[], { n: number }>('SELECT count(*) AS n FROM by_device').get()!.n;
      } finally {
        db.close();
      }
    };
    await expect.poll(indexEntries, { timeout: 30_000 }).toBe(recent);

    // The hourly roll-ups hold the whole year, each reading once: per month, and per device.
    for (let m = 0; m < 12; m++) {
      const points = await platform.series.queryRollups('1h', { from: Date.UTC(2025, m, 1), to: Date.UTC(2025, m + 1, 1), limit: 10_000_000 });
      expect(points.reduce((n, p) => n + p.count, 0), `readings of month ${m + 1}`).toBe(perMonth[m]);
    }
    for (const id of [deviceId(3), DELETED, DEAD[0]!, deviceId(FLAPPING - 1)]) {
      const year = await readSeries(platform.series, retention, { deviceId: id, from: YEAR_START, to: now }, now);
      expect(year.resolution).toBe('1h');
      expect(year.points.reduce((n, p) => n + p.count, 0), `readings of ${id}`).toBe(perDevice.get(id));
    }

    // Each month's KPIs are what they were once the month was done.
    expect(monthKpis.size).toBe(11);
    for (const [month, kpis] of monthKpis) expect(await kpisOf(month), `KPIs of month ${month + 1}`).toEqual(kpis);
    expect(((await kpisOf(3)) as { tickets: number }).tickets).toBeGreaterThan(0);

    // The deleted device left no state, and is in no list; the dead ones left the deadman's list.
    const kv = platform.state.kv;
    expect((await kv.scanPrefix(`device:${DELETED}:`)).keys).toEqual([]);
    const list = (await kv.getMany<string[]>([subjectsKey('sensor-silent')])).get(subjectsKey('sensor-silent'))!;
    expect(list).not.toContain(DELETED);
    for (const id of DEAD) expect(list).not.toContain(id);
    expect(list).toHaveLength(DEVICES - 1 - DEAD.length);
    expect([...platform.detectors!.deviceState.known()]).not.toContain(DELETED);
    // Their alerts went out, each on a ticket, before they left.
    const dead = await platform.state.tickets.list({ limit: 100_000 });
    for (const id of DEAD) expect(dead.some((t) => t.alerts.some((a) => a.ruleId === 'sensor-silent' && a.deviceId === id))).toBe(true);

    // Settled webhook messages are kept a week; the tickets themselves stay.
    const tickets = await platform.state.tickets.list({ limit: 100_000 });
    expect(tickets.length).toBeGreaterThan(100);
    const outbox = (await Promise.all(tickets.map((t) => platform.state.outbox.forTicket(t.id)))).flat();
    expect(outbox.every((m) => m.state === 'pending' || m.nextAttemptAt >= now - retention.outboxMs - DAY)).toBe(true);

    // The stores level off: raw and 5-minute tables stay the size of their retention, pruned
    // pages are used again, and what the file still gains is the hourly roll-ups'.
    const half = sizes.find((s) => s.day >= 179)!;
    const end = sizes.at(-1)!;
    for (const tier of ['raw', '5m'] as const) {
      expect(end.tables[tier]!, `${tier} bytes at day ${end.day} against day ${half.day}`).toBeLessThan(half.tables[tier]! * 1.15);
      expect(end.tables[tier]!).toBeGreaterThan(half.tables[tier]! * 0.85);
    }
    const hourlyGrowth = end.tables['1h']! - half.tables['1h']!;
    expect(end.file - half.file).toBeLessThan(hourlyGrowth + half.file * 0.1);
    console.log(
      [
        'day  file MiB  raw MiB  5m MiB  1h MiB  raw rows  5m rows  1h rows',
        ...sizes.map((s) => `${String(s.day + 1).padStart(3)}  ${mib(s.file).padStart(8)}  ${mib(s.tables.raw!).padStart(7)}  ${mib(s.tables['5m']!).padStart(6)}  ${mib(s.tables['1h']!).padStart(6)}  ${String(s.rows.raw).padStart(8)}  ${String(s.rows['5m']).padStart(7)}  ${String(s.rows['1h']).padStart(7)}`),
      ].join('\n'),
    );
  }, 900_000);
});

const mib = (n: number): string => (n / 1024 ** 2).toFixed(2);
