/**
 * `npx streetwatch backup` while devices publish, then `restore` into a new data directory: a
 * platform started on the restored directory has every reading that was acknowledged before the
 * backup began, every device and every ticket, with their state; restore refuses the directory
 * of a running platform.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { backupDataDir } from '../../cli/backup.js';
import { runCli } from '../../cli/main.js';
import { REPO_ROOT } from '../../core/config.js';
import type { Ticket } from '../../core/schemas.js';
import { latestVersion } from '../../core/store/sqlite/migrations.js';
import { openDatabase } from '../../core/store/sqlite/open.js';
import { STATE_MIGRATIONS } from '../../core/store/sqlite/schema.js';
import { SqliteStateStore } from '../../core/store/sqlite/state.js';
import { startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {} });
  return { code, out, err };
}

describe('backup and restore', () => {
  const platforms: TestPlatform[] = [];
  afterAll(async () => {
    for (const p of platforms) await p.stop().catch(() => undefined);
  });

  it('restores a backup taken under load with every acknowledged reading, device and ticket', async () => {
    const sw = await startTestPlatform({ env: { MQTT_PUBLISH_RATE: '10000', MQTT_PUBLISH_BURST: '10000' } });
    platforms.push(sw);
    const secrets = new Map<string, string>();
    for (let i = 0; i < 8; i++) secrets.set(`bk-${i}`, await sw.provision(`bk-${i}`, i % 2 ? IN_SOUTH : IN_TUNNEL, 'water_level'));
    // A ticket, acknowledged: the flooding tunnel.
    const flood = await sw.connect('bk-0', secrets.get('bk-0')!);
    await flood.publishAsync('v1/devices/bk-0/telemetry', JSON.stringify({ values: { water_level: 0.6 } }), { qos: 1 });
    const [ticket] = await waitFor(async () => {
      const list: Ticket[] = (await sw.api('GET', '/api/tickets')).body.tickets;
      return list.length > 0 ? list : undefined;
    }, 'the flooding ticket');
    expect((await sw.api('POST', `/api/tickets/${ticket!.id}/ack`, { note: 'crew on the way' })).status).toBe(200);

    // Load: every device publishes one reading after another; each PUBACK is one stored reading.
    const acked: { id: string; ts: number; at: number }[] = [];
    let running = true;
    const clients = await Promise.all([...secrets].map(async ([id, secret]) => ({ id, client: await sw.connect(id, secret) })));
    const load = Promise.all(
      clients.map(async ({ id, client }) => {
        // A time of its own for each reading of a device: each is a reading of its own.
        for (let ts = Date.now(); running; ts = Math.max(ts + 1, Date.now())) {
          await client.publishAsync(`v1/devices/${id}/telemetry`, JSON.stringify({ ts, values: { battery_v: 3.3 } }), { qos: 1 });
          acked.push({ id, ts, at: Date.now() });
        }
      }),
    );
    await waitFor(() => (acked.length > 200 ? true : undefined), 'readings flowing');
    secrets.set('bk-late', await sw.provision('bk-late', IN_SOUTH, 'water_level'));

    // The backup runs as its own process, as an operator runs it, while the load goes on.
    const backupDir = path.join(tempDir('backup'), 'snapshot');
    const startedAt = Date.now();
    const backup = await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'bin', 'streetwatch.js'), 'backup', backupDir], {
      cwd: REPO_ROOT,
      env: { ...process.env, STREETWATCH_DATA_DIR: sw.dataDir },
    });
    // The index by device, then the readings with the bus's log, then the state its consumers write.
    expect(backup.stdout).toMatch(/^backed up .+ into .+:\n {2}readings-by-device\.db \(schema \d+, [\d.]+ MiB\): .*\n {2}readings\.db \(schema \d+, [\d.]+ MiB\): .*bus_sw_raw \d+.*readings \d+.*\n {2}state\.db \(schema \d+, [\d.]+ MiB\): .*devices 9/);
    const during = acked.length;
    await waitFor(() => (acked.length > during + 50 ? true : undefined), 'readings after the backup');

    // Not over the data directory of a running platform.
    const refused = await cli(['restore', backupDir, '--data-dir', sw.dataDir, '--force']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(new RegExp(`^SW_ERR_DATA_DIR_IN_USE: data directory ${sw.dataDir} is in use by a running StreetWatch \\(process ${process.pid} on `));

    running = false;
    await load;
    await sw.stop();

    const restoredDir = tempDir('restored');
    const restored = await cli(['restore', backupDir, '--data-dir', restoredDir]);
    expect(restored).toMatchObject({ code: 0, err: '' });
    expect(restored.out).toMatch(/^restored the backup of \S+ \(StreetWatch \d+\.\d+\.\d+\) into .+:\n/);
    expect(restored.out).toContain('tickets 1');
    // Once restored, a second restore there needs --force.
    expect((await cli(['restore', backupDir, '--data-dir', restoredDir])).err).toMatch(/^SW_ERR_BACKUP_INVALID: .* already holds .*--force/);

    const again = await startTestPlatform({ dataDir: restoredDir });
    platforms.push(again);
    expect(again.platform.adminToken).toBe(sw.platform.adminToken);
    const devices = ((await again.api('GET', '/api/devices')).body.devices as { id: string }[]).map((d) => d.id).sort();
    expect(devices).toEqual([...secrets.keys()].sort());
    expect((await again.api('GET', `/api/tickets/${ticket!.id}`)).body).toMatchObject({ id: ticket!.id, status: 'acknowledged' });
    const before = acked.filter((a) => a.at < startedAt);
    expect(before.length).toBeGreaterThan(200);
    const stored = new Set((await again.platform.series.query({ from: 0, to: Date.now() + 60_000, limit: 10_000_000 })).filter((r) => r.metric === 'battery_v').map((r) => `${r.deviceId}@${r.ts}`));
    const missing = before.filter((a) => !stored.has(`${a.id}@${a.ts}`));
    expect(missing).toEqual([]);
    // A device's secret still opens its connection.
    expect((await again.connect('bk-3', secrets.get('bk-3')!)).connected).toBe(true);
  });

  it('refuses what is not a backup, and a backup of a newer schema', async () => {
    const empty = tempDir('nobackup');
    expect((await cli(['restore', empty, '--data-dir', tempDir('target')])).err).toMatch(/^SW_ERR_BACKUP_INVALID: backup .+: no readable manifest\.json/);
    const nothing = tempDir('nodata');
    const noData = await runCli(['backup', path.join(tempDir('b'), 'x')], { stdout: () => undefined, stderr: (t) => void fs.appendFileSync(path.join(nothing, 'err'), t), env: { STREETWATCH_DATA_DIR: nothing } });
    expect(noData).toBe(1);
    expect(fs.readFileSync(path.join(nothing, 'err'), 'utf8')).toMatch(/SW_ERR_BACKUP_INVALID: backup .+: holds no StreetWatch database/);

    // A backup whose state database a newer release wrote.
    const source = tempDir('src');
    await new SqliteStateStore(source).close();
    const snapshot = path.join(tempDir('b'), 'newer');
    await backupDataDir(source, snapshot, '9.9.9');
    const db = openDatabase(path.join(snapshot, 'state.db'));
    db.pragma(`user_version = ${latestVersion(STATE_MIGRATIONS) + 1}`);
    db.close();
    const newer = await cli(['restore', snapshot, '--data-dir', tempDir('target')]);
    expect(newer.code).toBe(1);
    expect(newer.err).toMatch(/^SW_ERR_SCHEMA_NEWER: state\.db in the backup has schema version \d+, and this StreetWatch knows versions up to \d+/);
  });
});
