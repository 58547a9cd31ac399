/**
 * People's reports at their edges, over real HTTP: photos are images only, bounded in size,
 * served as inert images and gone after their retention; reports are limited per token;
 * Open311 POST takes forms, JSON and answers XML, with the spec's errors; a wrong confirmation
 * link token is a failed login of its address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clock.js';
import { IN_SOUTH_GRID, IN_TUNNEL, governanceCity } from '../support/governance.js';
import { metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const T0 = Date.UTC(2026, 7, 1, 2, 0);
/** The smallest JPEG a browser would show: start of image, a marker, end of image. */
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]);

describe('people\'s reports at their limits', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  let base: string;
  let grid: string;

  const upload = (bytes: Buffer, type: string, token = grid) => fetch(`${base}/api/reports/photos`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: bytes });

  beforeAll(async () => {
    sw = await startTestPlatform({
      clock,
      cityDir: governanceCity(),
      env: { STREETWATCH_REPORT_BURST: '4', STREETWATCH_REPORTS_PER_HOUR: '60', STREETWATCH_PHOTO_MAX_BYTES: '4096', STREETWATCH_PHOTO_RETENTION: '1h', STREETWATCH_LIMIT_LOOPBACK: 'true', STREETWATCH_LOGIN_FAILURE_BURST: '3' },
    });
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    grid = await sw.unitToken('south-east-1');
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('takes a photo only as an image whose bytes match its type, within the size limit', async () => {
    const svg = await upload(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'image/svg+xml');
    expect(svg.status).toBe(415);
    expect(((await svg.json()) as any).error.code).toBe('SW_ERR_MEDIA_TYPE');
    const html = await upload(Buffer.from('<html><script>alert(1)</script></html>'), 'image/jpeg');
    expect(html.status).toBe(415);
    expect(((await html.json()) as any).error).toMatchObject({ code: 'SW_ERR_PHOTO_INVALID', message: expect.stringContaining('not a image/jpeg image') });
    const big = await upload(Buffer.concat([JPEG, Buffer.alloc(5000)]), 'image/jpeg');
    expect(big.status).toBe(413);
    expect(((await big.json()) as any).error.code).toBe('SW_ERR_BODY_TOO_LARGE');
    expect(await metricValue(sw.platform.metrics.apiErrors, { code: 'SW_ERR_PHOTO_INVALID' })).toBe(1);
  });

  it('serves a photo as an inert image to those who may see the report, and forgets it after its retention', async () => {
    const up = await upload(JPEG, 'image/jpeg');
    expect(up.status).toBe(201);
    const photo = ((await up.json()) as { id: string }).id;
    expect(photo).toMatch(/^PH-/);
    // Another token cannot attach it.
    const other = await sw.unitToken('south-east');
    expect((await sw.api('POST', '/api/reports', { category: 'manhole', note: 'x', location: IN_SOUTH_GRID, photo }, other)).status).toBe(404);
    const filed = await sw.api('POST', '/api/reports', { category: 'manhole', note: '井盖破损', location: IN_SOUTH_GRID, photo, grade: 'D' }, grid);
    expect(filed).toMatchObject({ status: 201, body: { photo: `/api/reports/${filed.body.id}/photo`, status: 'received', confirmToken: expect.any(String) } });
    const got = await fetch(`${base}/api/reports/${filed.body.id}/photo`, { headers: { authorization: `Bearer ${grid}` } });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(JPEG);
    expect(Object.fromEntries(['content-type', 'x-content-type-options', 'content-security-policy'].map((h) => [h, got.headers.get(h)]))).toEqual({
      'content-type': 'image/jpeg',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
    });
    // The sub-center above the grid sees the ticket, hence the photo; north does not.
    await waitFor(async () => (await sw.api('GET', `/api/reports/${filed.body.id}`, undefined, grid)).body.ticket ?? undefined, 'the report taken into a ticket');
    expect((await fetch(`${base}/api/reports/${filed.body.id}/photo`, { headers: { authorization: `Bearer ${await sw.unitToken('south')}` } })).status).toBe(200);
    expect((await fetch(`${base}/api/reports/${filed.body.id}/photo`, { headers: { authorization: `Bearer ${await sw.unitToken('north')}` } })).status).toBe(404);

    clock.advance(61 * 60_000);
    expect((await fetch(`${base}/api/reports/${filed.body.id}/photo`, { headers: { authorization: `Bearer ${grid}` } })).status).toBe(404);
    // The retention job deletes it (docs/OPERATIONS.md).
    expect((await sw.platform.maintenance.run()).find((r) => r.task === 'prune-reports')).toMatchObject({ handled: 1 });
    expect(await sw.platform.state.reports.photo(photo)).toBeUndefined();
    // The report itself is kept for the report retention.
    expect((await sw.api('GET', `/api/reports/${filed.body.id}`, undefined, grid)).status).toBe(200);
  });

  it('limits reports per token, 429 with Retry-After, and counts it', async () => {
    const hotline = await sw.reporterKey('rate test');
    const post = () => fetch(`${base}/open311/v2/requests.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: hotline, service_code: 'fire', lat: IN_TUNNEL.lat, long: IN_TUNNEL.lon, description: '冒烟' }) });
    for (let i = 0; i < 4; i++) expect((await post()).status).toBe(201);
    const refused = await post();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(((await refused.json()) as any)[0].description).toMatch(/^SW_ERR_RATE_LIMITED/);
    expect(await metricValue(sw.platform.metrics.limited, { limit: 'reports' })).toBe(1);
    // Another token is not held back by this one.
    expect((await sw.api('POST', '/api/reports', { category: 'fire', note: '冒烟', location: IN_TUNNEL }, await sw.unitToken('north'))).status).toBe(201);
    clock.advance(60_000);
    expect((await post()).status).toBe(201);
  });

  it('takes Open311 forms and answers XML, refusing a request without a place or a department\'s key', async () => {
    const hotline = await sw.reporterKey('xml test');
    const form = (fields: Record<string, string>, format = 'xml') =>
      fetch(`${base}/open311/v2/requests.${format}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const ok = await form({ api_key: hotline, service_code: 'flooding', lat: '23.145', long: '113.315', description: '积水', email: 'someone@example.test', 'attribute[depth]': '50' });
    expect(ok.status).toBe(201);
    expect(ok.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    const xml = await ok.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><service_requests><request><service_request_id>RP-\d{8}-[0-9A-Z]{6}<\/service_request_id>/);
    // The reporter's personal details are not kept.
    const id = /<service_request_id>([^<]+)</.exec(xml)![1]!;
    expect(JSON.stringify(await sw.platform.state.reports.get(id))).not.toContain('someone@example.test');

    const noPlace = await form({ api_key: hotline, service_code: 'flooding', address_string: '北隧道' }, 'json');
    expect(noPlace.status).toBe(400);
    expect(((await noPlace.json()) as any)[0]).toMatchObject({ code: 400, description: expect.stringMatching(/^SW_ERR_BODY_INVALID: .*lat/) });
    const unknown = await form({ api_key: hotline, service_code: 'earthquake', lat: '23.145', long: '113.315' }, 'json');
    expect(unknown.status).toBe(400);
    const dept = await form({ api_key: await sw.departmentToken('water-affairs'), service_code: 'flooding', lat: '23.145', long: '113.315' }, 'json');
    expect(dept.status).toBe(403);
    const keyless = await form({ service_code: 'flooding', lat: '23.145', long: '113.315' }, 'json');
    expect(keyless.status).toBe(403);
    // The refusal names the key a citizens' app or a 12345 system is given.
    expect(((await keyless.json()) as any)[0].description).toMatch(/^SW_ERR_API_KEY_INVALID: .*reporter key/);
  });

  it('counts wrong confirmation link tokens as failed logins of the address', async () => {
    const filed = await sw.api('POST', '/api/reports', { category: 'fire', note: '冒烟', location: IN_TUNNEL }, await sw.unitToken('north'));
    const status = (token: string) => fetch(`${base}/api/reports/${filed.body.id}/status?token=${encodeURIComponent(token)}`);
    expect((await status(filed.body.confirmToken)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await status(`wrong-token-${i}-xxxxxxxxxx`)).status).toBe(404);
    const refused = await status(filed.body.confirmToken);
    expect(refused.status).toBe(429);
  });
});
