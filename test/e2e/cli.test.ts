/**
 * `npx streetwatch devices ...` against a real StreetWatch: provisioning from the terminal and
 * from a CSV file, then connecting with the secrets it printed.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.js';
import { REPO_ROOT } from '../../core/config.js';
import { startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

describe('streetwatch devices (CLI)', () => {
  let sw: TestPlatform;
  let api: string;
  beforeAll(async () => {
    sw = await startTestPlatform();
    api = `http://127.0.0.1:${sw.platform.httpPort}`;
  });
  afterAll(async () => {
    await sw?.stop();
  });

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCli(['--api', api, '--token', sw.platform.adminToken, ...args], {
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
      env: {},
    });
    return { code, out, err };
  }

  it('adds a device, prints its secret once, and the secret connects', async () => {
    const added = await cli('devices', 'add', 'cli-wl-1', '--kind', 'water_level', '--lat', '23.145', '--lon', '113.315');
    expect(added.code).toBe(0);
    const secret = added.out.trim().split('\n').at(-1)!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const device = await sw.connect('cli-wl-1', secret);
    await device.publishAsync('v1/devices/cli-wl-1/status', 'online', { qos: 1, retain: true });
    await sw.settled();

    const listed = await cli('devices', 'list');
    expect(listed.out).toMatch(/^ID\s+KIND\s+STATUS\s+LAST SEEN\s+PLACE\s+GATEWAY\s+SENML\s+LOCATION\n/);
    expect(listed.out).toMatch(/cli-wl-1\s+water_level\s+online\s+\d+s ago\s+fixed\s+-\s+-\s+23\.145,113\.315\n/);
    expect(listed.out).not.toContain(secret);
    await waitFor(async () => JSON.parse((await cli('devices', 'list', '--status', 'online', '--json')).out).some((d: { id: string }) => d.id === 'cli-wl-1') || undefined, 'online in the list');

    const rotated = await cli('devices', 'rotate-secret', 'cli-wl-1');
    const fresh = rotated.out.trim().split('\n').at(-1)!;
    expect(fresh).not.toBe(secret);
    await expect(sw.connect('cli-wl-1', secret)).rejects.toThrow();
    expect((await sw.connect('cli-wl-1', fresh)).connected).toBe(true);

    expect(await cli('devices', 'remove', 'cli-wl-1')).toMatchObject({ code: 0, out: 'cli-wl-1 removed\n' });
    expect(await cli('devices', 'remove', 'cli-wl-1')).toMatchObject({ code: 1, err: 'SW_ERR_NOT_FOUND: device cli-wl-1 not found\n' });
  });

  it('provisions what decides trust: mobile, a gateway, a SenML name and table, from flags and from a CSV file', async () => {
    expect((await cli('devices', 'add', 'cli-gw-1', '--kind', 'gateway', '--lat', '23.11', '--lon', '113.33', '--senml-name', 'urn:dev:ow:gw1')).code).toBe(0);
    const child = await cli('devices', 'add', 'cli-ow-1', '--kind', 'manhole_cover', '--lat', '23.11', '--lon', '113.33', '--gateway', 'cli-gw-1', '--senml-name', 'urn:dev:ow:c1', '--senml-map', 'open=manhole_open;@V=mains_voltage');
    expect(child.code).toBe(0);
    expect((await cli('devices', 'add', 'cli-bus-1', '--kind', 'noise', '--lat', '23.11', '--lon', '113.33', '--mobile')).code).toBe(0);
    expect(await sw.api('GET', '/api/devices/cli-ow-1')).toMatchObject({
      body: { mobile: false, gateway: 'cli-gw-1', senml: { name: 'urn:dev:ow:c1', map: [{ suffix: 'open', metric: 'manhole_open' }, { unit: 'V', metric: 'mains_voltage' }] } },
    });
    expect((await sw.api('GET', '/api/devices/cli-bus-1')).body.mobile).toBe(true);
    expect((await cli('devices', 'list', '--kind', 'manhole_cover')).out).toMatch(/cli-ow-1\s+manhole_cover\s+unknown\s+-\s+fixed\s+cli-gw-1\s+urn:dev:ow:c1 \[open=manhole_open;@V=mains_voltage\]\s+23\.11,113\.33\n/);

    const updated = await cli('devices', 'update', 'cli-ow-1', '--mobile', '--no-gateway', '--senml-map', '', '--json');
    expect(JSON.parse(updated.out)).toMatchObject({ id: 'cli-ow-1', mobile: true, gateway: null, senml: { name: 'urn:dev:ow:c1', map: [] } });
    expect((await cli('devices', 'update', 'cli-ow-1', '--gateway', 'nobody')).err).toContain('SW_ERR_BODY_INVALID: request is invalid: body.gateway: device nobody is not provisioned');
    expect((await cli('devices', 'add', 'x-1', '--kind', 'gas', '--lat', '1', '--lon', '1', '--senml-map', 'open')).err).toContain('--senml-map: "open" is not');

    const csv = path.join(tempDir('cli'), 'gateways.csv');
    // The device spoken for comes first in the file: its gateway is provisioned before it anyway.
    fs.writeFileSync(csv, ['id,kind,lat,lon,mobile,gateway,senml_name,senml_map', 'csv-ow-1,temperature,23.11,113.33,,csv-gw-1,2001:db8::1,', 'csv-gw-1,gateway,23.11,113.33,false,,2001:db8::2,', 'csv-bus-1,noise,23.11,113.33,true,,,'].join('\n'));
    const imported = await cli('devices', 'import', csv);
    expect(imported.err).toContain('3 created, 0 rotated, 0 skipped, 0 failed');
    expect((await sw.api('GET', '/api/devices/csv-ow-1')).body).toMatchObject({ gateway: 'csv-gw-1', senml: { name: '2001:db8::1' } });
    expect((await sw.api('GET', '/api/devices/csv-bus-1')).body.mobile).toBe(true);
  });

  it('issues, lists and revokes the ingest tokens of a department\'s system', async () => {
    await sw.api('POST', '/api/devices', { id: 'cli-system-1', kind: 'system', location: { lat: 23.11, lon: 113.33 } });
    const added = await cli('ingest-tokens', 'add', 'cli-system-1', '--label', 'fire department');
    expect(added.code).toBe(0);
    const [, id] = /^ingest token (\S+) for cli-system-1/.exec(added.out)!;
    const token = added.out.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^swi_[A-Za-z0-9_-]{43}$/);
    expect((await cli('ingest-tokens', 'list', '--device', 'cli-system-1')).out).toBe(`${id}  cli-system-1  active   fire department\n`);
    expect(await cli('ingest-tokens', 'revoke', id!)).toMatchObject({ code: 0, out: `ingest token ${id} revoked\n` });
    expect((await cli('ingest-tokens', 'list')).out).toContain(`${id}  cli-system-1  revoked  fire department`);
    expect(await cli('ingest-tokens', 'add', 'nobody')).toMatchObject({ code: 1, err: 'SW_ERR_NOT_FOUND: device nobody not found\n' });
  });

  it('refuses bad arguments before calling the API', async () => {
    expect(await cli('devices', 'add', 'x', '--kind', 'gas', '--lat', 'north', '--lon', '1')).toMatchObject({ code: 1, err: expect.stringContaining('--lat must be a number') });
    expect(await cli('devices', 'add', 'bad/id', '--kind', 'gas', '--lat', '1', '--lon', '1')).toMatchObject({ code: 2, err: expect.stringContaining('id: must match') });
    expect((await cli('devices', 'list', '--status', 'lost')).code).toBe(1);
  });

  it('imports a CSV file, writes the secrets to a private file, and skips or rotates on a second run', async () => {
    const dir = tempDir('cli');
    const csv = path.join(dir, 'devices.csv');
    const rows = Array.from({ length: 30 }, (_, i) => `imp-${String(i).padStart(3, '0')},smoke,23.11${i % 10},113.33`);
    fs.writeFileSync(csv, ['id,kind,lat,lon', ...rows].join('\n'));
    const secretsFile = path.join(dir, 'secrets.csv');

    const first = await cli('devices', 'import', csv, '--secrets', secretsFile);
    expect(first).toMatchObject({ code: 0, out: '' });
    expect(first.err).toContain('30 created, 0 rotated, 0 skipped, 0 failed');
    expect(fs.statSync(secretsFile).mode & 0o777).toBe(0o600);
    const secrets = fs.readFileSync(secretsFile, 'utf8').trim().split('\n');
    expect(secrets[0]).toBe('id,secret');
    expect(secrets).toHaveLength(31);
    const [id, secret] = secrets[7]!.split(',') as [string, string];
    expect((await sw.connect(id, secret)).connected).toBe(true);

    const again = await cli('devices', 'import', csv);
    expect(again.code).toBe(1);
    expect(again.err).toContain('0 created, 0 rotated, 0 skipped, 30 failed');
    expect(again.err).toContain('imp-000: SW_ERR_DEVICE_EXISTS');
    expect(await cli('devices', 'import', csv, '--on-existing', 'skip')).toMatchObject({ code: 0, out: 'id,secret\n' });
    const rotated = await cli('devices', 'import', csv, '--on-existing', 'rotate');
    expect(rotated.out.trim().split('\n')).toHaveLength(31);
    expect(await cli('devices', 'import', csv, '--secrets', secretsFile)).toMatchObject({ code: 1, err: expect.stringContaining('EEXIST') });
  });

  it('imports nothing from a CSV file with bad rows, and says which', async () => {
    const csv = path.join(tempDir('cli'), 'bad.csv');
    fs.writeFileSync(csv, 'id,kind,lat,lon\ngood-1,gas,23.1,113.3\nbad id,gas,23.1,113.3\ngood-2,gas,23.1,east\n');
    const r = await cli('devices', 'import', csv);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nothing imported[\s\S]*line 3: id: [\s\S]*line 4: location\.lon/);
    expect((await sw.api('GET', '/api/devices/good-1')).status).toBe(404);
  });

  it('runs as `npx streetwatch` through the package bin', async () => {
    await sw.provision('bin-1', { lat: 23.1, lon: 113.3 }, 'manhole');
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'bin', 'streetwatch.js'), '--api', api, '--token', sw.platform.adminToken, 'devices', 'list', '--kind', 'manhole', '--json'], { cwd: REPO_ROOT });
    expect(JSON.parse(stdout)).toMatchObject([{ id: 'bin-1', kind: 'manhole', status: 'unknown' }]);
  });
});

describe('POST /api/devices/import', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('answers per device, and refuses duplicates, oversized and malformed requests as a whole', async () => {
    const loc = { lat: 23.1, lon: 113.3 };
    await sw.provision('dup-a', loc);
    const r = await sw.api('POST', '/api/devices/import', { devices: [{ id: 'new-a', kind: 'gas', location: loc }, { id: 'dup-a', kind: 'gas', location: loc }] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      created: 1,
      failed: 1,
      results: [
        { id: 'new-a', outcome: 'created', secret: expect.any(String) },
        { id: 'dup-a', outcome: 'failed', error: { code: 'SW_ERR_DEVICE_EXISTS' } },
      ],
    });
    const twice = await sw.api('POST', '/api/devices/import', { devices: [{ id: 'x-1', kind: 'gas', location: loc }, { id: 'x-1', kind: 'gas', location: loc }] });
    expect(twice).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID', message: expect.stringContaining('appears twice') } } });
    const tooMany = await sw.api('POST', '/api/devices/import', { devices: Array.from({ length: 1001 }, (_, i) => ({ id: `m-${i}`, kind: 'gas', location: loc })) });
    expect(tooMany).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
    const huge = await sw.api('POST', '/api/devices/import', { devices: [{ id: 'z', kind: 'gas', location: loc }], pad: 'x'.repeat(1_100_000) });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'SW_ERR_BODY_TOO_LARGE', message: 'request body exceeds 1048576 bytes' } } });
    const unknownKey = await sw.api('POST', '/api/devices/import', { devices: [{ id: 'y', kind: 'gas', location: loc }], upsert: true });
    expect(unknownKey.body.error.code).toBe('SW_ERR_BODY_INVALID');
    expect((await sw.api('GET', '/api/devices/x-1')).status).toBe(404);
  });

  it('is for the admin only: a sub-center token may not provision', async () => {
    const issued = await sw.api('POST', '/api/tokens', { unit: 'north' });
    expect(issued.status).toBe(201);
    const r = await sw.api('POST', '/api/devices/import', { devices: [{ id: 'u-1', kind: 'gas', location: { lat: 23.1, lon: 113.3 } }] }, issued.body.token);
    expect(r).toMatchObject({ status: 403, body: { error: { code: 'SW_ERR_FORBIDDEN' } } });
    expect((await sw.api('GET', '/api/devices', undefined, issued.body.token)).status).toBe(403);
  });
});
