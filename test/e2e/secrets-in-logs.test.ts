/**
 * Nothing secret reaches the log: the platform runs at trace level into a buffer while devices,
 * feed clients and API callers log in with right and wrong secrets, tokens travel in headers,
 * query strings and MQTT passwords, and secrets are issued and rotated. Then the buffer is
 * searched for every one of them.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformNodeArgs } from '../../app/node-flags.js';
import { REPO_ROOT } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { openEventStream } from '../support/sse.js';
import { startTestPlatform, tempDir, type TestPlatform } from '../support/harness.js';

const SITE = { lat: 23.115, lon: 113.335 };
const ADMIN = 'admin-token-for-the-log-audit-0001';
const OPERATOR = 'operator-token-for-the-log-audit-02';

describe('secrets in logs', () => {
  const lines: string[] = [];
  let sw: TestPlatform;
  beforeAll(async () => {
    const logger = createLogger('trace', {}, { write: (line: string) => void lines.push(line) });
    sw = await startTestPlatform({ logger, env: { STREETWATCH_ADMIN_TOKEN: ADMIN, STREETWATCH_OPERATOR_TOKEN: OPERATOR } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('logs the events, and none of the secrets and tokens that took part in them', async () => {
    const secrets: string[] = [ADMIN, OPERATOR];
    const base = `http://127.0.0.1:${sw.platform.httpPort}`;
    const mqttLogin = (clientId: string, username: string, password: string) =>
      mqtt.connectAsync(sw.mqttUrl, { clientId, username, password, reconnectPeriod: 0, connectTimeout: 5_000 }, false).then(
        (c) => c.endAsync().then(() => 'connected'),
        () => 'refused',
      );

    const first = await sw.provision('log-1', SITE);
    const rotated = (await sw.api('POST', '/api/devices/log-1/rotate-secret')).body.secret as string;
    const imported = (await sw.api('POST', '/api/devices/import', { devices: [{ id: 'log-2', kind: 'x', location: SITE }] })).body.results[0].secret as string;
    const north = await sw.unitToken('north');
    const spare = await sw.api('POST', '/api/tokens', { unit: 'south' });
    await sw.api('DELETE', `/api/tokens/${spare.body.id}`);
    const guesses = ['swu_guessed-token-0001', 'guessed-device-secret-0002', `${ADMIN}-almost`, `${OPERATOR}x`];
    secrets.push(first, rotated, imported, north, spare.body.token, ...guesses);

    expect(await mqttLogin('log-1', 'log-1', rotated)).toBe('connected');
    expect(await mqttLogin('log-1', 'log-1', first)).toBe('refused');
    expect(await mqttLogin('log-1', 'log-1', guesses[1]!)).toBe('refused');
    expect(await mqttLogin('subcenter:north', 'subcenter:north', north)).toBe('connected');
    expect(await mqttLogin('subcenter:north', 'subcenter:north', guesses[0]!)).toBe('refused');
    expect(await mqttLogin('subcenter:south', 'subcenter:south', spare.body.token)).toBe('refused');
    expect(await mqttLogin('operator:flows', 'operator:flows', OPERATOR)).toBe('connected');
    expect(await mqttLogin('operator:flows', 'operator:flows', `${OPERATOR}x`)).toBe('refused');

    expect((await sw.api('GET', '/api/tickets', undefined, guesses[0])).status).toBe(401);
    expect((await sw.api('GET', '/api/tickets', undefined, guesses[2])).status).toBe(401);
    expect((await sw.api('GET', '/api/devices', undefined, north)).status).toBe(403);
    const stream = await openEventStream(`${base}/api/stream?access_token=${encodeURIComponent(north)}`);
    expect(stream.status).toBe(200);
    stream.close();
    expect((await openEventStream(`${base}/api/stream?access_token=${guesses[0]}`)).status).toBe(401);
    expect((await fetch(`${base}/open311/v2/requests.json?api_key=${north}`)).status).toBe(200);
    expect((await fetch(`${base}/open311/v2/requests.json?api_key=${guesses[0]}`)).status).toBe(403);
    expect((await fetch(`${base}/api/nothing?access_token=${north}`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(404);

    const log = lines.join('');
    for (const message of ['device provisioned', 'device secret rotated', 'unit token issued', 'unit token revoked', 'connection refused', 'devices imported']) {
      expect(log).toContain(message);
    }
    for (const secret of secrets) expect({ secret, found: log.includes(secret) }).toEqual({ secret, found: false });
    // Their hashes stay out too.
    expect(log).not.toMatch(/scrypt\$/);
  });
});

describe('secrets in configuration errors', () => {
  const start = (env: Record<string, string>) =>
    promisify(execFile)(process.execPath, platformNodeArgs(path.join(REPO_ROOT, 'app', 'main.ts')), {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', MQTT_PORT: '0', HTTP_PORT: '0', STREETWATCH_DATA_DIR: tempDir('config-error'), ...env },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );

  it.each([
    ['STREETWATCH_ADMIN_TOKEN', 'short-secret', 'short-secret'],
    ['STREETWATCH_ADMIN_TOKEN', 'a long secret with spaces in it', 'a long secret'],
    ['REDIS_URL', 'http://streetwatch:redis-password-1@127.0.0.1:6379', 'redis-password-1'],
    ['REDIS_URL', 'redis//:redis-password-2@127.0.0.1:6379', 'redis-password-2'],
  ])('`npm start` refuses %s and names it on stderr without echoing its secret', async (variable, value, secret) => {
    const { code, stderr } = await start({ [variable]: value });
    expect(code).toBe(1);
    expect(stderr).toContain(`SW_ERR_CONFIG_ENV: environment variable ${variable}:`);
    expect(stderr).not.toContain(secret);
  }, 60_000);
});
