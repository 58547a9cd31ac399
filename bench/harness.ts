/**
 * What every scenario starts: the platform under test on a fresh data directory with its fleet
 * provisioned, the load generator, and the webhook receiver, each its own process.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { City } from '../core/city.js';
import { cityWithWebhook, provisionDevices, type BenchDevice } from './fleet.js';
import type { ConnectResult, LoadCommand, LoadDevice } from './loadgen.js';
import { loadAverage } from './machine.js';
import { Child, pinHelperThreads, sampleProc, type CpuPlan, type ProcSample } from './processes.js';
import type { SinkCommand, SinkReport } from './webhook-sink.js';
import type { SutCommand, SutStats } from './sut.js';

export interface BenchContext {
  quick: boolean;
  cpus: CpuPlan;
  /** Data directories, the city copy and the processes' logs. */
  workDir: string;
  city: City;
  sink: Sink;
  log(line: string): void;
  /** Where the platform writes a V8 CPU profile of each measured window, if anywhere. */
  profileDir?: string | undefined;
  /** Where the platform writes a sampling heap profile of each measured window, if anywhere. */
  heapProfileDir?: string | undefined;
  /** The 1-minute load average at the start and end of each measurement. */
  loads: { what: string; load: number }[];
}

export interface Sink {
  url: string;
  secret: string;
  /** Deliveries so far (and forgets them). */
  take(): Promise<SinkReport>;
  stop(): Promise<void>;
}

export async function startSink(cpus: CpuPlan, workDir: string): Promise<Sink> {
  const secret = randomBytes(24).toString('base64url');
  const child = await Child.start<SinkCommand>('webhook receiver', 'bench/webhook-sink.ts', {
    cpus: cpus.load,
    env: { ...process.env, BENCH_WEBHOOK_SECRET: secret },
    log: path.join(workDir, 'webhook-sink.log'),
  });
  return {
    url: (child.ready as { url: string }).url,
    secret,
    take: () => child.request<SinkReport>({ op: 'take' }),
    stop: () => child.stop({ op: 'exit' }),
  };
}

/**
 * The platform's configuration for a benchmark: the same as `npm start` but on free ports of
 * 127.0.0.1, with its own data directory, the city whose units have the receiver's webhook, and
 * no per-device publish limit.
 */
function platformEnv(ctx: BenchContext, dataDir: string, cityDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    STREETWATCH_DATA_DIR: dataDir,
    STREETWATCH_CONFIG: cityDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    ...UNTHROTTLED,
  };
}

/**
 * The per-device publish limit (20/s after a burst of 100 by default) would cap a fleet of 100
 * at 2 000 publishes/s: the benchmarks measure the pipeline, so a device may publish at any rate.
 */
export const UNTHROTTLED = { MQTT_PUBLISH_RATE: '1000000', MQTT_PUBLISH_BURST: '1000000' } as const;

export interface PlatformUnderTest {
  child: Child<SutCommand>;
  pid: number;
  mqttPort: number;
  secret: string;
  stats(): Promise<SutStats>;
  sample(): ProcSample;
  /** Bytes of the files of its data directory (databases and their logs): the store's size. */
  storeBytes(): number;
  /** Starts a CPU and/or heap profile of the platform when the run asked for profiles. */
  profileStart(): Promise<void>;
  /** Writes the profiles started last as `<profileDir>/<label>.cpuprofile` and `<heapProfileDir>/<label>.heapprofile`. */
  profileStop(label: string): Promise<void>;
  stop(): Promise<void>;
}

let runs = 0;

export async function startPlatformUnderTest(ctx: BenchContext, name: string, devices: readonly BenchDevice[]): Promise<PlatformUnderTest> {
  const dataDir = fs.mkdtempSync(path.join(ctx.workDir, `data-${name}-`));
  const secret = await provisionDevices(dataDir, devices);
  const cityDir = cityWithWebhook(ctx.sink.url, ctx.sink.secret, fs.mkdtempSync(path.join(ctx.workDir, 'city-')));
  const child = await Child.start<SutCommand>('streetwatch', 'bench/sut.ts', {
    cpus: ctx.cpus.sut,
    platform: true,
    env: platformEnv(ctx, dataDir, cityDir),
    log: path.join(ctx.workDir, `streetwatch-${++runs}-${name}.log`),
  });
  const { mqttPort } = child.ready as { mqttPort: number };
  const helpers = new Set<string>();
  return {
    child,
    pid: child.pid,
    mqttPort,
    secret,
    stats: () => child.request<SutStats>({ op: 'stats' }),
    sample: () => {
      // At each window's edge: a thread started since (libuv's pool, a worker) goes too.
      pinHelperThreads(child.pid, ctx.cpus.helpers, helpers);
      return sampleProc(child.pid);
    },
    storeBytes: () => fs.readdirSync(dataDir).reduce((n, f) => n + (fs.statSync(path.join(dataDir, f), { throwIfNoEntry: false })?.size ?? 0), 0),
    async profileStart() {
      if (ctx.profileDir || ctx.heapProfileDir) await child.request({ op: 'profile-start', cpu: !!ctx.profileDir, heap: !!ctx.heapProfileDir });
    },
    async profileStop(label) {
      if (!ctx.profileDir && !ctx.heapProfileDir) return;
      const fileIn = (dir: string | undefined, ext: string): string | undefined => {
        if (!dir) return undefined;
        fs.mkdirSync(dir, { recursive: true });
        return path.join(dir, `${label}.${ext}`);
      };
      const files = await child.request<string[]>({ op: 'profile-stop', cpuFile: fileIn(ctx.profileDir, 'cpuprofile'), heapFile: fileIn(ctx.heapProfileDir, 'heapprofile') });
      for (const file of files) ctx.log(`  profile: ${file}`);
    },
    async stop() {
      await child.stop({ op: 'stop' }, 60_000);
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(cityDir, { recursive: true, force: true });
    },
  };
}

export async function startLoadgen(ctx: BenchContext, name: string): Promise<Child<LoadCommand>> {
  return Child.start<LoadCommand>('load generator', 'bench/loadgen.ts', { cpus: ctx.cpus.load, log: path.join(ctx.workDir, `loadgen-${name}.log`) });
}

export function loadDevices(devices: readonly BenchDevice[]): LoadDevice[] {
  return devices.map((d) => ({ id: d.id, kind: d.kind, zoneKind: d.zoneKind, zoneTags: d.zoneTags }));
}

/** Connects the fleet (and hazard sensors) of a platform under test to it through the load generator. */
export async function connectFleet(
  loadgen: Child<LoadCommand>,
  port: number,
  secret: string | undefined,
  devices: readonly BenchDevice[],
  hazards: readonly BenchDevice[] = [],
): Promise<ConnectResult> {
  return loadgen.request<ConnectResult>({ op: 'connect', host: '127.0.0.1', port, devices: loadDevices(devices), secret, concurrency: 200, hazards: hazards.map((h) => h.id) });
}

export function noteLoad(ctx: BenchContext, what: string): number {
  const load = loadAverage()[0];
  ctx.loads.push({ what, load });
  return load;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
