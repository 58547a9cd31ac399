/**
 * Starts a real StreetWatch on free ports with a test city, and talks to it the way users do:
 * HTTP for the API, MQTT (mqtt.js over TCP) for devices.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startPlatform, type Platform } from '../../app/platform.js';
import { REPO_ROOT, loadConfig } from '../../core/config.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { Clock } from '../../core/ports.js';
import { busSettled } from './bus.js';

export const FIXTURE_CITY = path.join(REPO_ROOT, 'test', 'fixtures', 'city');

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sw-${prefix}-`));
}

/** A copy of a city directory with webhooks set for some sub-centers. */
export function cityWithWebhooks(webhooks: Record<string, { url: string; secret: string }>, base = FIXTURE_CITY): string {
  const dir = tempDir('city');
  for (const f of fs.readdirSync(base)) fs.copyFileSync(path.join(base, f), path.join(dir, f));
  const file = path.join(dir, 'subcenters.geojson');
  const fc = JSON.parse(fs.readFileSync(file, 'utf8')) as { features: { properties: Record<string, unknown> }[] };
  for (const f of fc.features) {
    const hook = webhooks[f.properties.id as string];
    if (hook) Object.assign(f.properties, { webhook: hook.url, secret: hook.secret });
  }
  fs.writeFileSync(file, JSON.stringify(fc));
  return dir;
}

export interface TestPlatform {
  platform: Platform;
  dataDir: string;
  mqttUrl: string;
  api<T = any>(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  provision(id: string, location: { lat: number; lon: number }, kind?: string): Promise<string>;
  /** Issues an API token for a sub-center, community, grid or the district center, as the admin would. */
  unitToken(unitId: string): Promise<string>;
  /** Issues a department's token. */
  departmentToken(department: string): Promise<string>;
  /** Issues a reporter key (a citizens' app, a 12345 system). */
  reporterKey(label: string): Promise<string>;
  connect(deviceId: string, secret: string, opts?: mqtt.IClientOptions): Promise<MqttClient>;
  /**
   * Resolves once the pipeline has caught up with everything published so far (a PUBACK means
   * the publish is in the log, not that its readings are stored or evaluated yet).
   */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestPlatform(opts: { cityDir?: string; dataDir?: string; env?: Record<string, string>; clock?: Clock; logger?: Logger } = {}): Promise<TestPlatform> {
  const dataDir = opts.dataDir ?? tempDir('data');
  const config = loadConfig({
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    STREETWATCH_DATA_DIR: dataDir,
    STREETWATCH_CONFIG: opts.cityDir ?? FIXTURE_CITY,
    ...opts.env,
  });
  const platform = await startPlatform({ config, logger: opts.logger ?? createLogger(process.env.SW_TEST_LOG ?? 'silent'), ...(opts.clock ? { clock: opts.clock } : {}) });
  const base = `http://127.0.0.1:${platform.httpPort}`;
  const clients: MqttClient[] = [];

  const api: TestPlatform['api'] = async (method, url, body, token = platform.adminToken) => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const json = res.headers.get('content-type')?.startsWith('application/json');
    return { status: res.status, body: json ? JSON.parse(text) : text };
  };

  return {
    platform,
    dataDir,
    mqttUrl: `mqtt://127.0.0.1:${platform.mqttPort}`,
    api,
    async provision(id, location, kind = 'sensor') {
      const res = await api('POST', '/api/devices', { id, kind, location });
      if (res.status !== 201) throw new Error(`provisioning ${id} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.secret as string;
    },
    async unitToken(unitId) {
      const res = await api('POST', '/api/tokens', { unit: unitId });
      if (res.status !== 201) throw new Error(`token for ${unitId} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    async departmentToken(department) {
      const res = await api('POST', '/api/tokens', { kind: 'department', department });
      if (res.status !== 201) throw new Error(`token for ${department} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    async reporterKey(label) {
      const res = await api('POST', '/api/tokens', { kind: 'reporter', label });
      if (res.status !== 201) throw new Error(`reporter key ${label} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    async connect(deviceId, secret, extra = {}) {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${platform.mqttPort}`, {
        clientId: deviceId,
        username: deviceId,
        password: secret,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
        ...extra,
      });
      clients.push(client);
      return client;
    },
    settled: () => busSettled(platform.bus),
    async stop() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await platform.stop();
    },
  };
}

export interface ReceivedHook {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server that records webhook POSTs; `status` decides what it answers. */
export async function startWebhookReceiver(): Promise<{ url: string; received: ReceivedHook[]; status: { code: number }; close(): Promise<void> }> {
  const received: ReceivedHook[] = [];
  const status = { code: 200 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status.code).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks/streetwatch`,
    received,
    status,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Messages arriving on a topic the client subscribes to. */
export async function collect(client: MqttClient, topic: string): Promise<{ topic: string; json: any }[]> {
  const got: { topic: string; json: any }[] = [];
  client.on('message', (t, payload) => {
    if (t === topic) got.push({ topic: t, json: JSON.parse(payload.toString()) });
  });
  const granted = await client.subscribeAsync(topic, { qos: 1 });
  if (granted[0]?.qos === 128) throw new Error(`subscription to ${topic} refused`);
  return got;
}

/** The value of a counter or gauge for some labels (0 if never set). */
export async function metricValue(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}
