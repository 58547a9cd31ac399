/**
 * HTTP ingest for a department's system over real HTTP: an ingest token issued by the admin, a
 * batch of telemetry and of SenML for the devices the system owns, every record answered with
 * its fate (the same codes as over MQTT, since it is the same pipeline), a batch id that stores a
 * batch once, and the token's limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CITY_DIR } from '../../core/config.js';
import type { Subscription } from '../../core/ports.js';
import type { DeadLetter, Reading, Ticket } from '../../core/schemas.js';
import { ManualClock } from '../support/clock.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const LIEDE = { lat: 23.113, lon: 113.323 };
const SHIPAI = { lat: 23.137, lon: 113.343 };

describe('HTTP ingest', () => {
  const clock = new ManualClock(Date.now());
  let sw: TestPlatform;
  let token: string;
  const readings: Reading[] = [];
  const dead: DeadLetter[] = [];
  const taps: Subscription[] = [];

  const ingest = async (kind: 'telemetry' | 'senml', body: unknown, bearer = token) => {
    const res = await fetch(`http://127.0.0.1:${sw.platform.httpPort}/api/ingest/${kind}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  const stored = (id: string) => sw.platform.series.query({ deviceId: id, from: 0, to: clock.now() + 3_600_000 });

  beforeAll(async () => {
    sw = await startTestPlatform({ cityDir: DEFAULT_CITY_DIR, clock, env: { STREETWATCH_HTTP_INGEST_RATE: '1', STREETWATCH_HTTP_INGEST_BURST: '30' } });
    taps.push(await sw.platform.bus.subscribe('sw.readings', 'test-readings-tap', async (r) => void readings.push(...r.map((x) => x.value))));
    taps.push(await sw.platform.bus.subscribe('sw.deadletter', 'test-dead-tap', async (r) => void dead.push(...r.map((x) => x.value))));
    // The water-affairs platform is a device; its sensors are provisioned with it as their gateway.
    await sw.api('POST', '/api/devices', { id: 'wa-platform', kind: 'system', location: LIEDE, senml: { name: 'urn:dev:wa' } });
    for (const id of ['wa-smoke-1', 'wa-level-2']) await sw.api('POST', '/api/devices', { id, kind: 'sensor', location: LIEDE, gateway: 'wa-platform', senml: { name: `urn:dev:wa:${id}` } });
    await sw.api('POST', '/api/devices', { id: 'gas-co-9', kind: 'sensor', location: LIEDE });
    const issued = await sw.api('POST', '/api/ingest-tokens', { device: 'wa-platform', label: 'water affairs' });
    expect(issued).toMatchObject({ status: 201, body: { device: 'wa-platform', label: 'water affairs', token: expect.stringMatching(/^swi_/) } });
    token = issued.body.token;
  });
  afterAll(async () => {
    for (const t of taps) await t.close();
    await sw?.stop();
  });

  it('answers each record of a telemetry batch with what was stored and the codes MQTT would give, and feeds the same pipeline', async () => {
    const t0 = clock.now() - 60_000;
    const batch = {
      batchId: 'wa-2026-12-02T08:00-0001',
      records: [
        { deviceId: 'wa-smoke-1', ts: t0, values: { smoke: 40, battery_v: 3.6 } },
        { deviceId: 'wa-level-2', ts: t0, values: { water_level: 0.4, smoke: 999 } },
        { deviceId: 'wa-level-2', ts: t0 + 1000, values: { water_level: 0.41 }, loc: SHIPAI },
        { deviceId: 'gas-co-9', ts: t0, values: { co: 5 } },
        { ts: t0, values: { co: 5 } },
        { deviceId: 'wa-smoke-1', ts: t0 + 1000, values: { smoke: 'dense' } },
      ],
    };
    const res = await ingest('telemetry', batch);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ batchId: batch.batchId, records: 6, stored: 4, refused: 5 });
    expect(res.body.results.map((r: { deviceId: string; stored: number; errors: { code: string }[] }) => [r.deviceId, r.stored, r.errors.map((e) => e.code)])).toEqual([
      ['wa-smoke-1', 2, []],
      ['wa-level-2', 1, ['SW_ERR_METRIC_RANGE']],
      ['wa-level-2', 1, ['SW_ERR_LOC_FIXED']],
      ['gas-co-9', 0, ['SW_ERR_FORBIDDEN']],
      [null, 0, ['SW_ERR_PAYLOAD_SCHEMA']],
      ['wa-smoke-1', 0, ['SW_ERR_PAYLOAD_SCHEMA']],
    ]);
    expect(res.body.results[1].errors[0].message).toBe('metric smoke: value 999 is outside the plausible range [0, 100] %obs/m');
    // Stored, placed where the devices are, published to the detectors, refusals dead-lettered: the MQTT path.
    expect((await stored('wa-level-2')).map((r) => [r.value, r.subcenterId])).toEqual([
      [0.4, 'liede'],
      [0.41, 'liede'],
    ]);
    expect(readings.filter((r) => r.deviceId === 'wa-smoke-1').map((r) => r.metric).sort()).toEqual(['battery_v', 'smoke']);
    expect(dead.filter((d) => d.deviceId === 'wa-level-2').map((d) => d.code)).toEqual(['SW_ERR_METRIC_RANGE', 'SW_ERR_LOC_FIXED']);
    const ticket = await waitFor(async () => (await sw.platform.state.tickets.list()).find((t: Ticket) => t.devices.includes('wa-smoke-1')), 'the smoke ticket');
    expect(ticket).toMatchObject({ subcenterId: 'liede', category: 'fire' });
  });

  it('stores a batch once: the same batch id and body again gets the same answer, another body a conflict', async () => {
    const batch = { batchId: 'wa-once-1', records: [{ deviceId: 'wa-level-2', ts: clock.now() - 5_000, values: { water_level: 0.5 } }] };
    const first = await ingest('telemetry', batch);
    const again = await ingest('telemetry', batch);
    expect(first).toMatchObject({ status: 200, body: { stored: 1, refused: 0 } });
    expect(again).toMatchObject({ status: 200, body: { ...first.body, replayed: true } });
    expect((await stored('wa-level-2')).filter((r) => r.value === 0.5)).toHaveLength(1);
    expect(readings.filter((r) => r.deviceId === 'wa-level-2' && r.value === 0.5)).toHaveLength(1);
    const other = await ingest('telemetry', { ...batch, records: [{ deviceId: 'wa-level-2', values: { water_level: 0.6 } }] });
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'SW_ERR_BATCH_CONFLICT' } } });
  });

  it('takes SenML packs for the system\'s devices, a record refused by its index within its pack', async () => {
    const now = Math.floor(clock.now() / 1000);
    const res = await ingest('senml', {
      batchId: 'wa-senml-1',
      packs: [
        { deviceId: 'wa-level-2', pack: [{ bn: 'urn:dev:wa:wa-level-2:', bt: now - 30, n: 'level', u: 'cm', v: 42 }, { n: 'level', u: 'ft', v: 1, t: 10 }] },
        // The platform itself, speaking for its sensors by their SenML names, and for one it does not own.
        { deviceId: 'wa-platform', pack: [{ bn: 'urn:dev:wa:wa-smoke-1:', bt: now - 20, n: 'battery', u: 'V', v: 3.5 }, { bn: 'urn:dev:other:9:', n: 'temp', u: 'Cel', v: 20 }] },
        { deviceId: 'gas-co-9', pack: [{ n: 'co', u: 'ppm', v: 3 }] },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { index: 0, deviceId: 'wa-level-2', stored: 1, errors: [{ record: 1, code: 'SW_ERR_UNIT_UNSUPPORTED', message: expect.stringContaining('unit "ft"') }] },
      { index: 1, deviceId: 'wa-platform', stored: 1, errors: [{ record: 1, code: 'SW_ERR_SENML_DEVICE', message: expect.stringContaining('urn:dev:other:9:temp') }] },
      { index: 2, deviceId: 'gas-co-9', stored: 0, errors: [{ code: 'SW_ERR_FORBIDDEN', message: 'this token may not send readings for device gas-co-9' }] },
    ]);
    expect((await stored('wa-level-2')).find((r) => r.value === 0.42)).toMatchObject({ metric: 'water_level', unit: 'm' });
    expect((await stored('wa-smoke-1')).find((r) => r.metric === 'battery_v' && r.value === 3.5)).toBeDefined();
  });

  it('takes ingest tokens only, refuses revoked ones, and limits each token\'s rate', async () => {
    const body = { batchId: 'auth-1', records: [{ deviceId: 'wa-level-2', values: { water_level: 0.3 } }] };
    expect((await ingest('telemetry', body, '')).status).toBe(401);
    expect(await ingest('telemetry', body, 'swi_not-a-token')).toMatchObject({ status: 401, body: { error: { code: 'SW_ERR_UNAUTHORIZED' } } });
    expect(await ingest('telemetry', body, sw.platform.adminToken)).toMatchObject({ status: 403, body: { error: { code: 'SW_ERR_FORBIDDEN' } } });
    expect((await ingest('telemetry', body, await sw.unitToken('liede'))).status).toBe(403);
    // An ingest token is no API token.
    expect((await sw.api('GET', '/api/tickets', undefined, token)).status).toBe(401);

    const second = await sw.api('POST', '/api/ingest-tokens', { device: 'wa-platform' });
    expect((await ingest('telemetry', { ...body, batchId: 'auth-2' }, second.body.token)).status).toBe(200);
    expect((await sw.api('DELETE', `/api/ingest-tokens/${second.body.id}`)).status).toBe(204);
    expect((await ingest('telemetry', { ...body, batchId: 'auth-3' }, second.body.token)).status).toBe(401);
    const listed = (await sw.api('GET', '/api/ingest-tokens?device=wa-platform')).body.tokens as { id: string; revokedAt: number | null }[];
    expect(listed.map((t) => t.revokedAt === null).sort()).toEqual([false, true]);
    expect(listed.find((t) => t.id === second.body.id)!.revokedAt).toEqual(expect.any(Number));

    // The burst spent, the token waits: one batch per second.
    const third = (await sw.api('POST', '/api/ingest-tokens', { device: 'wa-platform' })).body.token as string;
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) statuses.push((await ingest('telemetry', { batchId: `rate-${i}`, records: [{ deviceId: 'wa-level-2', values: { water_level: 0.2 } }] }, third)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    const limited = await ingest('telemetry', { batchId: 'rate-x', records: [{ deviceId: 'wa-level-2', values: { water_level: 0.2 } }] }, third);
    expect(limited).toMatchObject({ status: 429, body: { error: { code: 'SW_ERR_RATE_LIMITED' } } });
    expect(limited.headers.get('retry-after')).toBe('1');
    // Other tokens are not held back.
    expect((await ingest('telemetry', { batchId: 'rate-other', records: [{ deviceId: 'wa-level-2', values: { water_level: 0.2 } }] })).status).toBe(200);
    clock.advance(1000);
    expect((await ingest('telemetry', { batchId: 'rate-y', records: [{ deviceId: 'wa-level-2', values: { water_level: 0.2 } }] }, third)).status).toBe(200);
  });

  it('refuses an ill-formed batch as a whole, with a coded error', async () => {
    expect(await ingest('telemetry', { batchId: 'x', records: [] })).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
    expect(await ingest('telemetry', { batchId: 'bad id!', records: [{}] })).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
    expect(await ingest('telemetry', { batchId: 'x', records: Array(1001).fill({}) })).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
    expect(await ingest('senml', { batchId: 'x', packs: [{}], extra: 1 })).toMatchObject({ status: 400, body: { error: { code: 'SW_ERR_BODY_INVALID' } } });
  });
});
