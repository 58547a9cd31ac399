/**
 * Retention on the running embedded platform, with a controllable clock: readings older than
 * the raw retention are folded and pruned and their period still answers from the roll-ups;
 * delivered webhook messages go after their window; a deleted device leaves no state behind
 * while the deadman rule still sees the devices that went silent; the stores' sizes show in
 * /metrics, /api/storage and the console's figures, and /readyz warns of a full disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectsKey } from '../../detectors/subjects.js';
import type { Ticket } from '../../core/schemas.js';
import { ManualClock } from '../support/clock.js';
import { FIXTURE_CITY, cityWithWebhooks, startTestPlatform, startWebhookReceiver, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 2, 8, 0);
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

/** The fixture city (a north webhook) with a deadman rule on the tunnel's water level sensors. */
function city(webhookUrl: string): string {
  const dir = cityWithWebhooks({ north: { url: webhookUrl, secret: 'north-webhook-secret-0001' } });
  fs.appendFileSync(
    path.join(dir, 'rules.yaml'),
    '\n  - id: sensor-silent\n    kind: deadman\n    metric: water_level\n    after: 1h\n    zones: { kind: underpass }\n    grade: D\n    category: flooding\n    department: water-affairs\n',
  );
  return dir;
}

describe('retention on the running platform', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    hook = await startWebhookReceiver();
    sw = await startTestPlatform({ clock, cityDir: city(hook.url) });
    for (const id of ['wl-old', 'wl-keep', 'wl-gone', 'wl-late']) secrets.set(id, await sw.provision(id, IN_TUNNEL, 'water_level'));
  });
  afterAll(async () => {
    await sw?.stop();
    await hook?.close();
  });

  /** Readings `stepMs` apart, each sent when it is measured (the clock moves on after each). */
  const publish = async (id: string, values: number[], stepMs = 40_000): Promise<void> => {
    const device = await sw.connect(id, secrets.get(id)!);
    for (const v of values) {
      await device.publishAsync(`v1/devices/${id}/telemetry`, JSON.stringify({ values: { water_level: v } }), { qos: 1 });
      clock.advance(stepMs);
    }
    await device.endAsync();
  };
  const tickets = async (): Promise<Ticket[]> => (await sw.api('GET', '/api/tickets')).body.tickets;

  it('folds and prunes readings past the raw retention, and answers their period from the 5-minute roll-ups', async () => {
    // Ten readings 40 s apart (eight in the first 5-minute step), one over the flooding line: a
    // ticket, delivered by webhook.
    const values = [0.1, 0.12, 0.15, 0.5, 0.2, 0.1, 0.1, 0.11, 0.1, 0.1];
    await publish('wl-old', values);
    const [ticket] = await waitFor(async () => ((await tickets()).length > 0 ? tickets() : undefined), 'the flooding ticket');
    // Every webhook message of the ticket delivered (the update after the first waits out its
    // coalescing window).
    await waitFor(async () => {
      const messages = await sw.platform.state.outbox.forTicket(ticket!.id);
      return messages.length > 0 && messages.every((m) => m.state === 'delivered') ? true : undefined;
    }, 'the webhooks');

    // A day at a time, as the job runs every minute.
    for (let day = 0; day < 40; day++) {
      clock.advance(DAY);
      await sw.platform.maintenance.run();
    }
    // A PUBACK says the publish is in the log; ingest stores it a moment later. The prune keeps
    // the newest stored reading (the fold's cursor), so the late one must be stored first.
    const lateAt = clock.now();
    await publish('wl-late', [0.1]);
    await waitFor(async () => {
      const late = await sw.api('GET', `/api/devices/wl-late/readings?from=${lateAt}&to=${lateAt + HOUR}&resolution=raw`);
      return late.body.series?.length > 0 ? true : undefined;
    }, 'the late reading stored');
    await sw.platform.maintenance.run();
    const raw = await sw.api('GET', `/api/devices/wl-old/readings?from=${T0}&to=${T0 + HOUR}&resolution=raw`);
    expect(raw.body.series).toEqual([]);
    const old = await sw.api('GET', `/api/devices/wl-old/readings?from=${T0}&to=${T0 + HOUR}`);
    expect(old.body).toMatchObject({ resolution: '5m', truncated: false });
    const [level] = old.body.series;
    // Two 5-minute steps: eight readings, then two.
    expect(level.points.map(([ts]: number[]) => ts)).toEqual([T0, T0 + 5 * MIN]);
    expect(level.extremes).toEqual([[T0, 0.1, 0.5], [T0 + 5 * MIN, 0.1, 0.1]]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(level.points[0][1]).toBeCloseTo(mean(values.slice(0, 10 - 2)), 9);
    expect(level.points[1][1]).toBeCloseTo(mean(values.slice(8)), 9);
    // The delivered webhook messages of that ticket are past their week; the ticket stays.
    expect(await sw.platform.state.outbox.forTicket(ticket!.id)).toEqual([]);
    expect((await sw.api('GET', `/api/tickets/${ticket!.id}`)).status).toBe(200);
  });

  it('forgets a deleted device everywhere, and the deadman rule still fires for a device that went silent', async () => {
    await publish('wl-keep', [0.1]);
    await publish('wl-gone', [0.1]);
    const kv = sw.platform.state.kv;
    // A PUBACK says the publish is in the log; the detectors record the device's state after it.
    const seen = async (): Promise<boolean> =>
      (await kv.scanPrefix('device:wl-gone:')).keys.length > 0 && ((await kv.getMany<string[]>([subjectsKey('sensor-silent')])).get(subjectsKey('sensor-silent'))?.includes('wl-gone') ?? false);
    await waitFor(async () => ((await seen()) ? true : undefined), "the detectors' state of wl-gone");

    expect((await sw.api('DELETE', '/api/devices/wl-gone')).status).toBe(204);
    expect((await kv.scanPrefix('device:wl-gone:')).keys).toEqual([]);
    expect((await kv.getMany<string[]>([subjectsKey('sensor-silent')])).get(subjectsKey('sensor-silent'))).not.toContain('wl-gone');

    clock.advance(2 * HOUR);
    await sw.platform.detectors!.tick();
    const silent = async () => (await tickets()).flatMap((t) => t.alerts.filter((a) => a.ruleId === 'sensor-silent').map((a) => a.deviceId));
    await waitFor(async () => ((await silent()).includes('wl-keep') ? true : undefined), 'the offline alert of wl-keep');
    expect(await silent()).not.toContain('wl-gone');
  });

  it('shows store sizes, rows, the oldest reading and the last runs in /metrics and /api/storage', async () => {
    await sw.platform.maintenance.run();
    const metrics = (await sw.api('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/^streetwatch_store_bytes\{file="readings\.db"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^streetwatch_store_bytes\{file="state\.db"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^streetwatch_series_rows\{resolution="5m"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^streetwatch_series_oldest_timestamp_seconds\{resolution="5m"\} /m);
    expect(metrics).toMatch(/^streetwatch_retention_last_run_timestamp_seconds\{task="prune-raw"\} /m);
    expect(metrics).toMatch(/^streetwatch_retention_rows_total\{task="prune-raw"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^streetwatch_disk_free_bytes [1-9]/m);
    const storage = await sw.api('GET', '/api/storage');
    expect(storage.status).toBe(200);
    expect(storage.body.databases.map((d: { name: string }) => d.name)).toEqual(expect.arrayContaining(['readings.db', 'state.db']));
    expect(storage.body.series.oldest.raw).toBeGreaterThanOrEqual(clock.now() - 30 * DAY);
    expect(storage.body.tasks.map((t: { task: string }) => t.task)).toEqual(expect.arrayContaining(['rollup', 'prune-raw', 'prune-outbox', 'subjects']));
    expect(storage.body.disk).toMatchObject({ low: false });
    // Unit tokens see none of it.
    expect((await sw.api('GET', '/api/storage', undefined, await sw.unitToken('north'))).status).toBe(403);
  });
});

describe('free disk space', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform({ cityDir: FIXTURE_CITY, dataDir: tempDir('disk'), env: { STREETWATCH_DISK_WARN: '1000TiB' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('under the threshold, /readyz warns and stays ready', async () => {
    const res = await fetch(`http://127.0.0.1:${sw.platform.httpPort}/readyz`);
    const body = (await res.json()) as { ready: boolean; warnings?: string[] };
    expect(res.status).toBe(200);
    expect(body.ready).toBe(true);
    expect(body.warnings).toEqual([expect.stringMatching(/^free disk space at .+ is [\d.]+ GiB, under the 1024000\.0 GiB of STREETWATCH_DISK_WARN/)]);
  });
});
