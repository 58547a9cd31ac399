/**
 * An audit of the HTTP API over real sockets, walking every route the server registers: none
 * but the health probes answers without a token; a unit token reaches only the routes that
 * scope their answers to its unit, and there sees nothing of another unit; every refusal of a
 * malformed request is a coded error, never a crash; failed logins are throttled per address.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIST } from '../../api/console-static.js';
import { startApi, type ApiServer, type RouteInfo } from '../../api/server.js';
import type { Ticket } from '../../core/schemas.js';
import { ManualClock } from '../support/clock.js';
import { metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const T0 = Date.UTC(2026, 5, 1, 8);
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };

/**
 * Routes anyone may call, besides the web console's files (which hold no data): the health
 * probes, the API's own description, Open311's discovery and service list (public in its spec),
 * and the CAP feed of early warnings.
 */
const PUBLIC = [
  'GET /healthz',
  'HEAD /healthz',
  'GET /readyz',
  'HEAD /readyz',
  'GET /api/openapi.json',
  'HEAD /api/openapi.json',
  'GET /api/docs',
  'HEAD /api/docs',
  'GET /api/docs/reference.js',
  'HEAD /api/docs/reference.js',
  'GET /api/docs/reference.css',
  'HEAD /api/docs/reference.css',
  'GET /open311/discovery.:format',
  'HEAD /open311/discovery.:format',
  'GET /open311/v2/services.:format',
  'HEAD /open311/v2/services.:format',
  'GET /cap/alerts.atom',
  'HEAD /cap/alerts.atom',
  'GET /cap/alerts/:id.xml',
  'HEAD /cap/alerts/:id.xml',
  // A reporter without an account, with its confirmation link's token (reports.test.ts: a wrong
  // token is 404 and counts as a failed login of the address).
  'GET /api/reports/:id/status',
  'HEAD /api/reports/:id/status',
  'POST /api/reports/:id/confirm',
];
/**
 * Routes unit tokens may call, each scoping its answer to the unit: tickets, supervision orders
 * and KPIs (checked below and in ticket-access.test.ts), the event stream (ticket-stream.test.ts),
 * a device's readings and refusals (below, readings.test.ts, device-errors.test.ts), the city's
 * public GeoJSON and the console's settings. A route added to this list needs its scoping tested.
 */
const UNIT_ROUTES = [
  'GET /api/devices/:id/readings',
  'GET /api/devices/:id/errors',
  'GET /api/console/config',
  'GET /api/tickets',
  'GET /api/tickets/:id',
  'POST /api/tickets/:id/ack',
  'POST /api/tickets/:id/start',
  'POST /api/tickets/:id/resolve',
  'POST /api/tickets/:id/close',
  'POST /api/tickets/:id/feedback',
  'POST /api/tickets/:id/reassign',
  'POST /api/tickets/:id/co-handlers',
  'POST /api/tickets/:id/co-handlers/:department/check-in',
  'POST /api/tickets/:id/co-handlers/:department/feedback',
  'POST /api/tickets/:id/co-handlers/:department/finish',
  'POST /api/tickets/:id/co-handlers/:department/release',
  'POST /api/tickets/:id/checklist/:step',
  'POST /api/tickets/:id/return',
  'POST /api/tickets/:id/return/ruling',
  'POST /api/tickets/:id/extension',
  'POST /api/tickets/:id/extension/decision',
  'GET /api/decisions',
  'POST /api/reports',
  'POST /api/reports/photos',
  'GET /api/reports',
  'GET /api/reports/:id',
  'GET /api/reports/:id/photo',
  'GET /api/supervision-orders',
  'GET /api/supervision-orders/:id',
  'POST /api/supervision-orders/:id/ack',
  'POST /api/supervision-orders/:id/note',
  'POST /api/supervision-orders/:id/close',
  'GET /api/kpis',
  'GET /api/stream',
  'GET /api/subcenters',
  'GET /api/zones',
  'GET /api/console/device-health',
];
/**
 * Routes display tokens (a wall screen's) may call: the reads of the wall view, each scoped like
 * a unit's (a district center's display sees the whole city). Nothing that acts.
 */
const DISPLAY_ROUTES = ['GET /api/console/config', 'GET /api/console/device-health', 'GET /api/tickets', 'GET /api/kpis', 'GET /api/stream', 'GET /api/subcenters', 'GET /api/zones'];

/**
 * Routes department tokens may call, each scoping its answer to the tickets the department leads
 * or co-handles (checked below; governance.test.ts checks each ticket action).
 */
const DEPARTMENT_ROUTES = [
  'GET /api/console/config',
  'GET /api/tickets',
  'GET /api/tickets/:id',
  'POST /api/tickets/:id/ack',
  'POST /api/tickets/:id/start',
  'POST /api/tickets/:id/resolve',
  'POST /api/tickets/:id/close',
  'POST /api/tickets/:id/feedback',
  'POST /api/tickets/:id/co-handlers',
  'POST /api/tickets/:id/co-handlers/:department/check-in',
  'POST /api/tickets/:id/co-handlers/:department/feedback',
  'POST /api/tickets/:id/co-handlers/:department/finish',
  'POST /api/tickets/:id/co-handlers/:department/release',
  'POST /api/tickets/:id/checklist/:step',
  'POST /api/tickets/:id/return',
  'POST /api/tickets/:id/return/ruling',
  'POST /api/tickets/:id/extension',
  'GET /api/reports/:id',
  'GET /api/reports/:id/photo',
  // The devices whose alerts are on its tickets (governance.test.ts).
  'GET /api/devices/:id/readings',
  'GET /api/supervision-orders/:id',
  'POST /api/supervision-orders/:id/note',
  'GET /api/kpis',
  'GET /api/stream',
  'GET /api/subcenters',
  'GET /api/zones',
];
/** Routes reporter keys may call besides Open311: the reports they filed. */
const REPORTER_ROUTES = ['GET /api/reports', 'GET /api/reports/:id', 'GET /api/reports/:id/photo'];

const key = (r: RouteInfo) => `${r.method} ${r.url}`;
/** A file of the built console (or its placeholder at `/` when it is not built). */
const isConsoleFile = (r: RouteInfo) => r.url === '/' || (r.url.length > 1 && !r.url.includes(':') && fs.existsSync(path.join(CONSOLE_DIST, r.url)));
const isPublic = (r: RouteInfo) => PUBLIC.includes(key(r)) || isConsoleFile(r);
const withoutHead = (keys: string[]) => keys.filter((k) => !k.startsWith('HEAD '));
/** A concrete URL for a route pattern. */
const urlOf = (r: RouteInfo, id = 'no-such-id') => r.url.replace(':id', encodeURIComponent(id)).replace(':format', 'json').replace(':department', 'water-affairs').replace(':step', 'close-road');

describe('HTTP API audit', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  let audited: ApiServer;
  let base: string;
  let north: string;
  let south: string;
  let district: string;
  let northTicket: Ticket;
  let orderId: string;
  /** Display tokens: the district center's wall (the whole city), and south's. */
  let cityWall: string;
  let southWall: string;
  let northReport: string;
  let fireDept: string;
  let reporter: string;

  const call = async (method: string, url: string, opts: { token?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const res = await fetch(base + url, {
      method,
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      body: opts.body,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: text !== '' && res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    sw = await startTestPlatform({ clock });
    // A second server over the same stores, so the audit can list the routes it registered.
    audited = await startApi({
      host: '127.0.0.1',
      port: 0,
      adminToken: sw.platform.adminToken,
      state: sw.platform.state,
      series: sw.platform.series,
      bus: sw.platform.bus,
      cityIndex: () => sw.platform.city,
      clock,
      metrics: sw.platform.metrics,
      logger: sw.platform.logger,
      ready: () => ({ api: true }),
      loginFailures: sw.platform.config.http.loginFailures,
      // The generated requests below write far more than a token's burst; the per-token limit has its own test.
      apiWrites: { ratePerSecond: 1, burst: 1_000_000 },
      console: sw.platform.config.console,
      cap: sw.platform.config.cap,
      reports: sw.platform.config.reports,
      retention: sw.platform.config.retention,
      storage: sw.platform.storage,
    });
    base = `http://127.0.0.1:${audited.port}`;
    [north, south, district] = [await sw.unitToken('north'), await sw.unitToken('south'), await sw.unitToken('test-district')];
    const display = async (unit: string): Promise<string> => (await sw.api('POST', '/api/tokens', { unit, kind: 'display' })).body.token;
    [cityWall, southWall] = [await display('test-district'), await display('south')];

    const wl = await sw.connect('wl-au', await sw.provision('wl-au', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-au/telemetry', JSON.stringify({ values: { water_level: 0.6 } }), { qos: 1 });
    northTicket = await waitFor(async () => ((await sw.api('GET', '/api/tickets?subcenter=north')).body.tickets as Ticket[])[0], 'north\'s ticket');
    // Left unanswered past its response deadline: escalated, with a supervision order for the district.
    clock.advance(31 * 60_000);
    await sw.platform.timers!.runOnce();
    const orders = (await sw.api('GET', '/api/supervision-orders')).body.supervisionOrders as { id: string; issuedTo: string }[];
    expect(orders).toMatchObject([{ issuedTo: 'test-district' }]);
    orderId = orders[0]!.id;
    // A grid worker's report of north's flood, and tokens of the other kinds.
    northReport = (await sw.api('POST', '/api/reports', { category: 'flooding', note: '隧道积水', location: IN_TUNNEL }, north)).body.id;
    fireDept = await sw.departmentToken('fire-rescue');
    reporter = await sw.reporterKey('audit hotline');
  });
  afterAll(async () => {
    await audited?.close();
    await sw?.stop();
  });

  it('registers exactly the expected public and unit routes', () => {
    const routes = audited.routes.map(key);
    expect(routes.filter((r) => PUBLIC.includes(r)).sort()).toEqual([...PUBLIC].sort());
    expect(withoutHead(audited.routes.filter((r) => r.allowUnits).map(key)).sort()).toEqual([...UNIT_ROUTES].sort());
    expect(withoutHead(audited.routes.filter((r) => r.allowDisplay).map(key)).sort()).toEqual([...DISPLAY_ROUTES].sort());
    expect(withoutHead(audited.routes.filter((r) => r.allowDepartments).map(key)).sort()).toEqual([...DEPARTMENT_ROUTES].sort());
    expect(withoutHead(audited.routes.filter((r) => r.allowReporters).map(key)).sort()).toEqual([...REPORTER_ROUTES].sort());
  });

  it('serves the console\'s files without a token, and no data with them', async () => {
    const files = audited.routes.filter((r) => isConsoleFile(r) && r.method === 'GET');
    expect(files.length).toBeGreaterThan(0);
    for (const route of files) {
      const res = await call('GET', route.url);
      expect({ route: key(route), ok: [200, 503].includes(res.status), json: res.json !== undefined }).toEqual({ route: key(route), ok: true, json: false });
    }
  });

  it('answers every other route 401 without a token or with a wrong one (Open311: 403, as its spec says)', async () => {
    const checked: string[] = [];
    for (const route of audited.routes.filter((r) => !isPublic(r))) {
      const open311 = route.url.startsWith('/open311/');
      for (const token of [undefined, 'swu_not-a-token', `${sw.platform.adminToken}x`]) {
        const res = await call(route.method, urlOf(route), { token, ...(route.method === 'POST' ? { body: '{}' } : {}) });
        expect({ route: key(route), status: res.status }).toEqual({ route: key(route), status: open311 ? 403 : 401 });
        // Open311 names the credential that was tried: its api_key, unless a bearer token was sent.
        const code = open311 && token === undefined ? 'SW_ERR_API_KEY_INVALID' : 'SW_ERR_UNAUTHORIZED';
        if (route.method !== 'HEAD') expect(open311 ? res.json?.[0]?.description ?? res.text : res.json.error.code).toMatch(new RegExp(`^${code}\\b`));
      }
      checked.push(key(route));
    }
    expect(checked.length).toBe(audited.routes.filter((r) => !isPublic(r)).length);
    for (const url of ['/healthz', '/readyz']) expect((await call('GET', url)).status).toBe(200);
  });

  it('answers a unit token 403 on every route that is not scoped to units, a department token or reporter key on every route not scoped to it', async () => {
    const outside = (allowed: (r: RouteInfo) => boolean) => audited.routes.filter((r) => !allowed(r) && !isPublic(r) && !r.url.startsWith('/open311/'));
    for (const [token, allowed] of [
      [north, (r: RouteInfo) => r.allowUnits],
      [fireDept, (r: RouteInfo) => r.allowDepartments],
      [reporter, (r: RouteInfo) => r.allowReporters],
    ] as const) {
      for (const route of outside(allowed)) {
        const res = await call(route.method, urlOf(route), { token, ...(route.method === 'POST' ? { body: '{}' } : {}) });
        expect({ route: key(route), status: res.status }).toEqual({ route: key(route), status: 403 });
      }
    }
  });

  it('lets a display token read the wall view and act on nothing: 403 on every other route and on Open311 (MQTT: subcenter-feed.test.ts)', async () => {
    expect(cityWall).toMatch(/^swd_/);
    const before = (await call('GET', `/api/tickets/${northTicket.id}`, { token: sw.platform.adminToken })).json as Ticket;
    for (const route of audited.routes.filter((r) => !r.allowDisplay && !isPublic(r) && !r.url.startsWith('/open311/'))) {
      const body = route.method === 'POST' ? JSON.stringify(route.url.endsWith('reassign') ? { subcenter: 'south', reason: 'wall' } : { note: 'wall' }) : undefined;
      const id = route.url.startsWith('/api/supervision-orders') ? orderId : route.url.startsWith('/api/devices/') ? 'wl-au' : northTicket.id;
      const res = await call(route.method, urlOf(route, id), { token: cityWall, ...(body ? { body } : {}) });
      expect({ route: key(route), status: res.status }).toEqual({ route: key(route), status: 403 });
    }
    expect((await call('GET', `/open311/v2/requests.json?api_key=${cityWall}`)).status).toBe(403);
    expect((await call('GET', `/api/tickets/${northTicket.id}`, { token: sw.platform.adminToken })).json).toEqual(before);
  });

  it('shows the district\'s wall the whole city and a sub-center\'s wall its own tickets', async () => {
    const config = (t: string) => call('GET', '/api/console/config', { token: t }).then((r) => r.json.principal);
    expect(await config(cityWall)).toEqual({ role: 'display', unitId: 'test-district', scope: null });
    expect(await config(southWall)).toEqual({ role: 'display', unitId: 'south', scope: 'south' });
    expect((await call('GET', '/api/tickets', { token: cityWall })).json.tickets.map((t: Ticket) => t.id)).toContain(northTicket.id);
    expect((await call('GET', '/api/tickets', { token: southWall })).json.tickets).toEqual([]);
    expect((await call('GET', '/api/tickets?subcenter=north', { token: southWall })).status).toBe(403);
    expect((await call('GET', '/api/kpis', { token: southWall })).json).toMatchObject({ subcenter: 'south', tickets: 0 });
    const health = async (t: string) => (await call('GET', '/api/console/device-health', { token: t })).json;
    expect(await health(cityWall)).toMatchObject({ total: (await sw.platform.state.devices.list()).length });
    expect((await health(southWall)).byKind.map((k: { kind: string }) => k.kind)).not.toContain('water_level');
    // A revoked display token opens nothing.
    const id = (await sw.api('GET', '/api/tokens')).body.tokens.find((t: { unit: string; kind: string }) => t.unit === 'south' && t.kind === 'display').id;
    expect((await sw.api('DELETE', `/api/tokens/${id}`)).status).toBe(204);
    expect((await call('GET', '/api/tickets', { token: southWall })).status).toBe(401);
  });

  it('shows a unit nothing of another unit\'s ticket or supervision order, on any unit route', async () => {
    const t = northTicket.id;
    const before = (await call('GET', `/api/tickets/${t}`, { token: sw.platform.adminToken })).json as Ticket;
    // The holder and the supervising center see them; south does not, not even that they exist.
    expect((await call('GET', `/api/tickets/${t}`, { token: north })).status).toBe(200);
    expect((await call('GET', `/api/tickets/${t}`, { token: district })).status).toBe(200);
    expect((await call('GET', '/api/devices/wl-au/readings', { token: north })).status).toBe(200);
    expect((await call('GET', `/api/supervision-orders/${orderId}`, { token: district })).status).toBe(200);
    const idFor = (route: RouteInfo) => (route.url.startsWith('/api/supervision-orders') ? orderId : route.url.startsWith('/api/devices/') ? 'wl-au' : route.url.startsWith('/api/reports/') ? northReport : t);
    // A body each route takes, so that the answer is about the caller, not about the body.
    const bodyFor = (route: RouteInfo): string | undefined => {
      if (route.method !== 'POST') return undefined;
      const u = route.url;
      if (u.endsWith('reassign')) return JSON.stringify({ subcenter: 'south', reason: 'audit' });
      if (u.endsWith('/co-handlers')) return JSON.stringify({ department: 'fire-rescue', reason: 'audit' });
      if (u.endsWith('/release') || u.endsWith('/return')) return JSON.stringify({ reason: 'audit' });
      if (u.endsWith('/return/ruling')) return JSON.stringify({ decision: 'sent_back', note: 'audit' });
      if (u.endsWith('/extension')) return JSON.stringify({ resolveBy: T0 + 86_400_000, reason: 'audit' });
      if (u.endsWith('/extension/decision')) return JSON.stringify({ approved: false });
      return JSON.stringify({ note: 'audit' });
    };
    for (const route of audited.routes.filter((r) => r.allowUnits && r.url.includes(':id'))) {
      const body = bodyFor(route);
      const res = await call(route.method, urlOf(route, idFor(route)), { token: south, ...(body ? { body } : {}) });
      expect({ route: key(route), status: res.status }).toEqual({ route: key(route), status: 404 });
    }
    // A department that neither leads nor co-handles the ticket does not see it either.
    for (const route of audited.routes.filter((r) => r.allowDepartments && r.url.includes(':id'))) {
      const body = bodyFor(route);
      const res = await call(route.method, urlOf(route, idFor(route)), { token: fireDept, ...(body ? { body } : {}) });
      expect({ route: key(route), status: res.status }).toEqual({ route: key(route), status: 404 });
    }
    expect((await call('GET', '/api/tickets', { token: fireDept })).json.tickets).toEqual([]);
    expect((await call('GET', `/open311/v2/requests.json?api_key=${fireDept}`)).json).toEqual([]);
    // A reporter key sees only the reports it filed.
    expect((await call('GET', `/api/reports/${northReport}`, { token: reporter })).status).toBe(404);
    expect((await call('GET', '/api/reports', { token: reporter })).json.reports).toEqual([]);
    expect((await call('GET', `/open311/v2/requests.json?api_key=${reporter}`)).json).toEqual([]);
    expect((await call('GET', `/open311/v2/requests/${northReport}.json?api_key=${reporter}`)).status).toBe(404);
    expect((await call('GET', '/api/tickets', { token: south })).json.tickets).toEqual([]);
    expect((await call('GET', '/api/supervision-orders', { token: south })).json.supervisionOrders).toEqual([]);
    expect((await call('GET', '/api/kpis?subcenter=north', { token: south })).status).toBe(403);
    expect((await call('GET', '/api/kpis', { token: south })).json).toMatchObject({ subcenter: 'south', tickets: 0 });
    expect((await call('GET', `/open311/v2/requests.json?api_key=${south}`)).json).toEqual([]);
    expect((await call('GET', `/open311/v2/requests.json?service_request_id=${t}&api_key=${south}`)).json).toEqual([]);
    expect((await call('GET', `/open311/v2/requests/${t}.json?api_key=${south}`)).status).toBe(404);
    // The city as units see it carries no webhook or secret.
    const subcenters = (await call('GET', '/api/subcenters', { token: south })).text;
    expect(subcenters).not.toMatch(/secret|webhook/);
    // Nothing changed on the way.
    expect((await call('GET', `/api/tickets/${t}`, { token: sw.platform.adminToken })).json).toEqual(before);
  });

  it('answers malformed requests with coded 4xx errors, never 5xx (generated bodies on every POST route)', async () => {
    const posts = audited.routes.filter((r) => r.method === 'POST');
    const bodies = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
      fc.constantFrom('{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {"admin": true}}}', '{"note": "x", "__proto__": null}', `${'['.repeat(20_000)}${']'.repeat(20_000)}`, '{"note": 1e999}', '\u0000', '{"id": "\ud800"}'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...posts), bodies, async (route, body) => {
        const res = await call(route.method, urlOf(route), { token: sw.platform.adminToken, body });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        // Open311 answers in its own error format, the description starting with the code.
        expect(route.url.startsWith('/open311/') ? res.json[0].description : res.json.error.code).toMatch(/^SW_ERR_[A-Z_]+/);
      }),
      { numRuns: 300, seed: 10 },
    );
    const bad = [
      await call('POST', '/api/devices', { token: sw.platform.adminToken, body: '{"id":"d-1"}', headers: { 'content-type': 'text/plain' } }),
      await call('GET', `/api/devices?__proto__=x`, { token: sw.platform.adminToken }),
      await call('GET', `/api/devices/${'x'.repeat(500)}`, { token: sw.platform.adminToken }),
      await call('POST', '/api/devices', { token: sw.platform.adminToken, body: JSON.stringify({ id: 'd-2', kind: 'x', location: { lat: 1, lon: 1 }, pad: 'x'.repeat(70_000) }) }),
    ];
    expect(bad.map((r) => [r.status, r.json?.error?.code])).toEqual([
      [415, 'SW_ERR_MEDIA_TYPE'],
      [400, 'SW_ERR_BODY_INVALID'],
      [400, 'SW_ERR_BODY_INVALID'],
      [413, 'SW_ERR_BODY_TOO_LARGE'],
    ]);
    expect(await metricValue(sw.platform.metrics.apiErrors, { code: 'SW_ERR_INTERNAL' })).toBe(0);
  });

  it('keeps secrets at rest as hashes only', async () => {
    const created = await sw.api('POST', '/api/devices', { id: 'hash-1', kind: 'x', location: IN_SOUTH });
    const device = await sw.platform.state.devices.get('hash-1');
    expect(device!.secretHash).toMatch(/^scrypt\$4096\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(device!.secretHash).not.toContain(created.body.secret);
    const tokens = await sw.platform.state.tokens.list();
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of tokens) {
      expect(t.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect([north, south, district]).not.toContain(t.tokenHash);
    }
  });
});

describe('failed logins over HTTP', () => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform({ clock, env: { STREETWATCH_LIMIT_LOOPBACK: 'true', STREETWATCH_LOGIN_FAILURE_BURST: '3', STREETWATCH_LOGIN_FAILURE_REFILL: '20s' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('refuses an address that presented wrong tokens too often, 429 with Retry-After, before looking at its token', async () => {
    const admin = sw.platform.adminToken;
    const base = `http://127.0.0.1:${sw.platform.httpPort}`;
    // No token at all is not a guess: it costs nothing.
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/api/tickets`)).status).toBe(401);
    expect((await sw.api('GET', '/api/tickets', undefined, 'swu_guess-1')).status).toBe(401);
    expect((await sw.api('GET', '/api/tickets', undefined, 'guess-2')).status).toBe(401);
    // Open311 keys count the same way.
    expect((await fetch(`${base}/open311/v2/requests.json?api_key=guess-3`)).status).toBe(403);

    const refused = await fetch(`${base}/api/tickets`, { headers: { authorization: `Bearer ${admin}` } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('20');
    expect(await refused.json()).toMatchObject({ error: { code: 'SW_ERR_RATE_LIMITED' } });
    expect((await fetch(`${base}/open311/v2/requests.json?api_key=${admin}`)).status).toBe(429);
    // The public service list needs no login, so it is never refused for one.
    expect((await fetch(`${base}/open311/v2/services.json?api_key=${admin}`)).status).toBe(200);
    expect(await metricValue(sw.platform.metrics.limited, { limit: 'http_auth_failures' })).toBe(2);
    // The health probes need no login and are never refused.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    clock.advance(20_000);
    expect((await sw.api('GET', '/api/tickets', undefined, admin)).status).toBe(200);
    expect((await sw.api('GET', '/api/tickets', undefined, 'guess-4')).status).toBe(401);
    expect((await sw.api('GET', '/api/tickets', undefined, admin)).status).toBe(429);
  });
});
