/**
 * The OpenAPI contract, checked by tools that are not ours: the served document validates with
 * an OpenAPI 3.1 validator (@readme/openapi-parser); it lists every route the server registers;
 * it is the committed schemas/openapi.json; the reference page renders it in a real browser
 * without any network beyond the platform; and schemathesis (PyPI, pinned in test/tools), run
 * against the live platform, finds no 5xx and no answer that violates the document.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { validate, compileErrors } from '@readme/openapi-parser';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIST } from '../../api/console-static.js';
import { openApiPath } from '../../api/openapi.js';
import { apiDocument } from '../../api/routes/index.js';
import { startApi, type ApiServer, type RouteInfo } from '../../api/server.js';
import { REPO_ROOT } from '../../core/config.js';
import { systemClock } from '../../core/ports.js';
import { startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';

const SCHEMATHESIS = path.join(REPO_ROOT, 'test', 'tools', 'schemathesis');
const CHROMIUM = process.env.SW_TEST_CHROMIUM ?? '/usr/bin/chromium';
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId: string; security: unknown[] }>> };

/** A file of the built console (or its placeholder at `/`): served, but not part of the API. */
const isConsoleFile = (r: RouteInfo) => r.url === '/' || (r.url.length > 1 && !r.url.includes(':') && fs.existsSync(path.join(CONSOLE_DIST, r.url)));

describe('OpenAPI document', () => {
  let sw: TestPlatform;
  let audited: ApiServer;
  let base: string;
  let served: Doc;

  beforeAll(async () => {
    sw = await startTestPlatform();
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    // A second server over the same stores, so the test can list the routes it registered.
    audited = await startApi({
      host: '127.0.0.1',
      port: 0,
      adminToken: sw.platform.adminToken,
      state: sw.platform.state,
      series: sw.platform.series,
      bus: sw.platform.bus,
      cityIndex: () => sw.platform.city,
      clock: systemClock,
      metrics: sw.platform.metrics,
      logger: sw.platform.logger,
      ready: () => ({ api: true }),
      loginFailures: sw.platform.config.http.loginFailures,
      apiWrites: sw.platform.config.apiWrites,
      console: sw.platform.config.console,
      cap: sw.platform.config.cap,
      reports: sw.platform.config.reports,
      retention: sw.platform.config.retention,
      storage: sw.platform.storage,
    });
    // Data for the calls to reach past 404: a device, its ticket, a unit token.
    const wl = await sw.connect('wl-oa', await sw.provision('wl-oa', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-oa/telemetry', JSON.stringify({ values: { water_level: 0.9 } }), { qos: 1 });
    await waitFor(async () => ((await sw.api('GET', '/api/tickets')).body.tickets.length > 0 ? true : undefined), 'a ticket');
    await sw.unitToken('north');
    const res = await fetch(`${base}/api/openapi.json`);
    expect(res.status).toBe(200);
    served = (await res.json()) as Doc;
  }, 60_000);
  afterAll(async () => {
    await audited?.close();
    await sw?.stop();
  });

  it('is an OpenAPI 3.1 document that a validator accepts', async () => {
    expect(served.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(served) as never);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.valid).toBe(true);
  });

  it('documents every route the server registers, with its method', () => {
    const documented = new Set(Object.entries(served.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
    // HEAD routes are fastify's mirrors of GET routes.
    const registered = audited.routes.filter((r) => r.method !== 'HEAD' && !isConsoleFile(r)).map((r) => `${r.method} ${openApiPath(r.url)}`);
    expect(registered.length).toBeGreaterThan(30);
    expect(registered.filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !registered.includes(d))).toEqual([]);
  });

  it('declares the credential of each route: none, bearer, or Open311 api_key', () => {
    const security = (p: string, m: string) => served.paths[p]![m]!.security;
    expect(security('/healthz', 'get')).toEqual([]);
    expect(security('/open311/v2/services.{format}', 'get')).toEqual([]);
    expect(security('/api/tickets', 'get')).toEqual([{ bearer: [] }]);
    expect(security('/open311/v2/requests.{format}', 'get')).toEqual([{ open311ApiKey: [] }, { bearer: [] }]);
  });

  it('is the committed schemas/openapi.json (npm run schemas)', () => {
    const committed = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas', 'openapi.json'), 'utf8')) as unknown;
    expect(served).toEqual(apiDocument());
    expect(committed).toEqual(served);
  });

  it('renders the reference page in a browser from the platform alone', async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set SW_TEST_CHROMIUM`);
    const profile = tempDir('chromium-ref');
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const elsewhere: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith(base)) elsewhere.push(req.url());
      });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${base}/api/docs`);
      const operations = Object.values(served.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
      await page.waitForFunction(`document.querySelectorAll('section.op').length === ${operations}`, undefined, { timeout: 20_000 });
      expect(await page.locator('#op-reassignTicket h3').innerText()).toBe('POST/api/tickets/{id}/reassign');
      expect(await page.locator('#toc a').count()).toBe(operations);
      expect({ elsewhere, errors }).toEqual({ elsewhere: [], errors: [] });
    } finally {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  }, 60_000);

  it('passes a bounded schemathesis run: no 5xx, no answer that violates the document', async () => {
    const st = execFileSync(SCHEMATHESIS, { encoding: 'utf8', timeout: 300_000 }).trim();
    // Bounded by examples per operation (a time budget would fuzz until it is spent). The event
    // stream never ends by design; every other operation is exercised.
    const args = [
      'run',
      `${base}/api/openapi.json`,
      '--header',
      `Authorization: Bearer ${sw.platform.adminToken}`,
      '--checks',
      'not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,ignored_auth,missing_required_header',
      '--exclude-path',
      '/api/stream',
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      '10',
      // One worker: with two, schemathesis' threads compile Python concurrently and now and then
      // trip CPython's AST recursion-depth check (python/cpython#106905), a tool error, not ours.
      '--workers',
      '1',
      '--seed',
      '17',
      '--request-timeout',
      '10',
    ];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      // Its working directory takes its cache of found crashes: a temporary one, not the repository.
      const child = spawn(st, args, { cwd: tempDir('schemathesis'), env: { ...process.env, NO_COLOR: '1' } });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, output: out }));
    });
    expect(output).toMatch(/\d+ generated, \d+ passed/);
    expect(output).not.toMatch(/❌|Schema Error/);
    expect(code, output.slice(-4000)).toBe(0);
  }, 240_000);
});
