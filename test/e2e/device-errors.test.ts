/**
 * A vendor reads a device's refusals without taking over its one MQTT connection: over HTTP with
 * the device's own credentials (or the admin's or its unit's token), and with
 * `streetwatch devices errors --follow`; each refusal has the code, message, topic and ref the
 * device got on its errors topic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { runCli } from '../../cli/main.js';
import { collect, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('a device\'s recent refusals', () => {
  let sw: TestPlatform;
  let base: string;
  let secret: string;
  let device: MqttClient;
  let received: { topic: string; json: { code: string; message: string; topic: string; ref: string } }[];

  const asDevice = (id: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}` });
  const get = async (path: string, headers: Record<string, string>) => {
    const res = await fetch(base + path, { headers });
    return { status: res.status, json: (await res.json()) as any };
  };

  beforeAll(async () => {
    sw = await startTestPlatform();
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    secret = await sw.provision('wl-err', IN_TUNNEL, 'water_level');
    await sw.provision('wl-other', IN_TUNNEL, 'water_level');
    device = await sw.connect('wl-err', secret);
    received = await collect(device, 'v1/devices/wl-err/errors');
    await device.publishAsync('v1/devices/wl-err/telemetry', '{"values": {"water_level": 0.1', { qos: 1 });
    await device.publishAsync('v1/devices/wl-err/telemetry', JSON.stringify({ values: { water_level: 99 } }), { qos: 1 });
    await waitFor(() => (received.length === 2 ? true : undefined), 'two errors on the errors topic');
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('are readable with the device\'s own credentials while it stays connected, as it received them', async () => {
    const res = await waitFor(async () => {
      const r = await get('/api/devices/wl-err/errors', asDevice('wl-err', secret));
      return r.json.errors?.length === 2 ? r : undefined;
    }, 'two refusals kept');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ deviceId: 'wl-err', kept: 100 });
    // Newest first; exactly what the errors topic carried, with the arrival time.
    expect(res.json.errors.map(({ at: _at, ...e }: { at: number }) => e)).toEqual([received[1]!.json, received[0]!.json]);
    expect(res.json.errors.map((e: { code: string }) => e.code)).toEqual(['SW_ERR_METRIC_RANGE', 'SW_ERR_PAYLOAD_JSON']);
    for (const e of res.json.errors) expect(e.at).toBeGreaterThan(Date.now() - 60_000);
    // Reading them cost the device nothing: its MQTT connection is still the one it had.
    expect(device.connected).toBe(true);
    await device.publishAsync('v1/devices/wl-err/status', 'online', { qos: 1 });
  });

  it('are the device\'s own: another device, a wrong secret or another unit is refused', async () => {
    expect((await get('/api/devices/wl-err/errors', asDevice('wl-err', 'wrong-secret'))).json.error.code).toBe('SW_ERR_BAD_CREDENTIALS');
    const other = await get('/api/devices/wl-err/errors', asDevice('wl-other', (await sw.api('POST', '/api/devices/wl-other/rotate-secret')).body.secret));
    expect([other.status, other.json.error.code]).toEqual([403, 'SW_ERR_FORBIDDEN']);
    const admin = await get('/api/devices/wl-err/errors?limit=1', { authorization: `Bearer ${sw.platform.adminToken}` });
    expect(admin.json.errors).toHaveLength(1);
    expect((await get('/api/devices/wl-err/errors', { authorization: `Bearer ${await sw.unitToken('north')}` })).status).toBe(200);
    expect((await get('/api/devices/wl-err/errors', { authorization: `Bearer ${await sw.unitToken('south')}` })).status).toBe(404);
  });

  it('are followed by `streetwatch devices errors --follow`, with the device\'s secret', async () => {
    let out = '';
    const stop = new AbortController();
    const run = runCli(['--api', base, 'devices', 'errors', 'wl-err', '--follow', '--interval', '0.1', '--secret', secret], {
      stdout: (t) => void (out += t),
      stderr: (t) => void (out += t),
      env: {},
      signal: stop.signal,
    });
    await waitFor(() => (out.split('\n').length > 2 ? true : undefined), 'the refusals so far');
    expect(out).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}SW_ERR_PAYLOAD_JSON {2}v1\/devices\/wl-err\/telemetry {2}ref=\S+ {2}payload is not valid JSON/);
    await device.publishAsync('v1/devices/wl-err/telemetry', JSON.stringify({ values: { water_level: 'high' } }), { qos: 1 });
    await waitFor(() => (/SW_ERR_PAYLOAD_SCHEMA/.test(out) ? true : undefined), 'the new refusal in the output');
    stop.abort();
    expect(await run).toBe(0);
    expect(out.trim().split('\n').map((l) => l.split('  ')[1])).toEqual(['SW_ERR_PAYLOAD_JSON', 'SW_ERR_METRIC_RANGE', 'SW_ERR_PAYLOAD_SCHEMA']);
  });

  it('are forgotten with the device', async () => {
    expect((await sw.api('DELETE', '/api/devices/wl-err')).status).toBe(204);
    expect(await sw.platform.state.deviceErrors.recent('wl-err')).toEqual([]);
  });
});
