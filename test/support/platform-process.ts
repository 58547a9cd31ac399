/**
 * StreetWatch in a process of its own (`app/main.ts`), the way an operator runs it, for tests
 * that measure the process (its RSS) or kill it: reached only over its MQTT and HTTP ports.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { spawnStages, type StageProcess } from './distributed.js';
import { FIXTURE_CITY, tempDir } from './harness.js';
import { freePort } from './services.js';

export interface PlatformProcess {
  readonly proc: StageProcess;
  readonly pid: number;
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly adminToken: string;
  api<T = any>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }>;
  provision(id: string, location: { lat: number; lon: number }): Promise<string>;
  /** The `/metrics` value of a series, exactly as named with its labels (0 if absent). */
  metric(series: string): Promise<number>;
  /** Resident memory of the process now, in bytes (/proc). */
  rss(): number;
  /** SIGTERM, then waits for the exit; the data directory is deleted unless it was given. */
  stop(): Promise<void>;
}

/** Starts the given stages (default: all, embedded) on free ports; resolves once the banner is printed. */
export async function startPlatformProcess(opts: { stages?: string; env?: Record<string, string>; dataDir?: string } = {}): Promise<PlatformProcess> {
  const dataDir = opts.dataDir ?? tempDir('proc');
  const adminToken = randomBytes(24).toString('base64url');
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const proc = spawnStages(opts.stages ?? 'broker,ingest,detectors,alerting,api', {
    MQTT_HOST: '127.0.0.1',
    HTTP_HOST: '127.0.0.1',
    MQTT_PORT: String(mqttPort),
    HTTP_PORT: String(httpPort),
    STREETWATCH_DATA_DIR: dataDir,
    STREETWATCH_CONFIG: FIXTURE_CITY,
    STREETWATCH_ADMIN_TOKEN: adminToken,
    ...opts.env,
  });
  try {
    await proc.ready;
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw err;
  }
  const base = `http://127.0.0.1:${httpPort}`;
  const api: PlatformProcess['api'] = async (method, url, body) => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
  };
  return {
    proc,
    pid: proc.child.pid!,
    mqttPort,
    httpPort,
    adminToken,
    api,
    async provision(id, location) {
      const res = await api('POST', '/api/devices', { id, kind: 'sensor', location });
      if (res.status !== 201) throw new Error(`provisioning ${id} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.secret as string;
    },
    async metric(series) {
      const text = (await api<string>('GET', '/metrics')).body;
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    },
    rss: () => processRss(proc.child.pid!),
    async stop() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
      await proc.exited;
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resident memory of a process, in bytes, from /proc/<pid>/status. */
export function processRss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) * 1024;
}

