/**
 * A record no stage can process, on a real embedded platform: parked with its cause instead of
 * blocking its topic, counted in /metrics, listed and replayed by the admin through the API and
 * the CLI (`npx streetwatch parked ...`), while the records behind it flow on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.js';
import type { Alert, Ticket } from '../../core/schemas.js';
import { metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('parked bus records', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    await sw?.stop();
  });

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCli(['--api', `http://127.0.0.1:${sw.platform.httpPort}`, '--token', sw.platform.adminToken, ...args], { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {} });
    return { code, out, err };
  }

  it('parks an alert alerting cannot process, lets the next ones through, and replays it on request', async () => {
    // What a producer of another version might send: an alert without its fields.
    const broken = { fingerprint: 'fp-broken', status: 'firing', note: 'no rule, no place' } as unknown as Alert;
    await sw.platform.bus.publish('sw.alerts', [{ key: broken.fingerprint, value: broken }]);
    // A real hazard right behind it, on the same topic.
    const device = await sw.connect('wl-p1', await sw.provision('wl-p1', IN_TUNNEL, 'water_level'));
    await device.publishAsync('v1/devices/wl-p1/telemetry', JSON.stringify({ values: { water_level: 0.8 } }), { qos: 1 });
    await waitFor(async () => ((await sw.api('GET', '/api/tickets')).body.tickets as Ticket[]).length === 1 || undefined, 'the ticket of the hazard behind the broken alert');

    const listed = await waitFor(async () => {
      const r = await sw.api('GET', '/api/admin/parked?topic=sw.alerts');
      return r.body.parked?.length === 1 ? r.body.parked : undefined;
    }, 'the broken alert parked');
    expect(listed[0]).toMatchObject({ topic: 'sw.alerts', group: 'alerting', key: 'fp-broken', value: broken, cause: { code: expect.stringMatching(/^SW_ERR_/), message: expect.any(String) }, replayedAt: null });
    expect(listed[0].attempts).toBeGreaterThanOrEqual(1);
    expect(await metricValue(sw.platform.metrics.busParked, { topic: 'sw.alerts', group: 'alerting' })).toBe(1);
    expect((await sw.api<string>('GET', '/metrics')).body).toMatch(/streetwatch_bus_parked_total\{topic="sw.alerts",group="alerting",code="SW_ERR_[A-Z_]+"\} 1/);

    const shown = await cli('parked', 'list', '--group', 'alerting');
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^ID\s+PARKED\s+TOPIC\s+GROUP\s+KEY\s+ATTEMPTS\s+REPLAYED\s+CAUSE\n/);
    expect(shown.out).toContain(listed[0].id);
    expect(shown.out).toMatch(/sw\.alerts\s+alerting\s+fp-broken/);

    // Replayed as it is, it fails the same way and is parked again: the topic still flows.
    const replayed = await cli('parked', 'replay', listed[0].id);
    expect(replayed).toMatchObject({ code: 0, out: `${listed[0].id} replayed on sw.alerts (parked by alerting: ${listed[0].cause.code})\n` });
    await waitFor(async () => (await metricValue(sw.platform.metrics.busParked, { topic: 'sw.alerts', group: 'alerting' })) === 2 || undefined, 'parked again');
    const after = (await sw.api('GET', '/api/admin/parked?group=alerting')).body.parked;
    expect(after).toHaveLength(2);
    expect(after.find((p: { id: string }) => p.id === listed[0].id).replayedAt).toEqual(expect.any(Number));

    expect(await cli('parked', 'replay', '00000000-0000-4000-8000-000000000000')).toMatchObject({ code: 1, err: 'SW_ERR_NOT_FOUND: parked record 00000000-0000-4000-8000-000000000000 not found\n' });
    expect((await sw.api('GET', '/api/admin/parked?topic=sw.nothing')).body.error.code).toBe('SW_ERR_BODY_INVALID');
    const unit = await sw.unitToken('north');
    expect((await sw.api('GET', '/api/admin/parked', undefined, unit)).status).toBe(403);
  });
});
