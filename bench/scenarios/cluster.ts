/**
 * Scenario 8, the clustered broker: 1, 2 and 4 broker nodes (`--stages broker,api`, each its own
 * process, MQTT_PROXY_PROTOCOL=on, on one Redis and Kafka) behind Debian's HAProxy on
 * infra/local/haproxy-cfg's configuration, as `infra/local/up --brokers N` runs them. At each
 * node count: the fleet connects through HAProxy (what each node and HAProxy then hold in
 * memory), 100 further devices measure QoS 1 throughput through HAProxy (and, at one node,
 * straight to the node), and at 2 and 4 nodes one node is killed with SIGKILL and its devices'
 * way back through HAProxy is timed from the kill.
 *
 * Ports: one source address reaches one destination through ~28 000 ephemeral ports, so the
 * fleet is split over load generators connecting from 127.0.0.2, 127.0.0.3, …; HAProxy reaches
 * each node on a port of its own, so its side runs out only past ~28 000 connections on one node.
 * Open files: HAProxy sizes its connection limit from `ulimit -n` at start, so it starts under a
 * raised limit; the nodes and the load generators get theirs raised with prlimit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config.js';
import { startPlatformProcess, type PlatformProcess } from '../../test/support/platform-process.js';
import { distributedEnv, dropNamespace, testNamespace } from '../../test/support/namespace.js';
import { freePort, provisionServices } from '../../test/support/services.js';
import { sensorFleet } from '../fleet.js';
import { loadDevices, noteLoad, sleep, startLoadgen, UNTHROTTLED, type BenchContext } from '../harness.js';
import type { ConnectResult, LoadCommand, ReconnectsResult, RunResult } from '../loadgen.js';
import { wallNow } from '../mqtt-wire.js';
import { pinned, sampleProc, type Child } from '../processes.js';
import { summarize, type LatencySummary } from '../stats.js';
import { provisionFleet } from './distributed.js';
import { fmt } from './throughput.js';

const HAPROXY = '/usr/sbin/haproxy';
/** Devices per load generator: one source address and one process each, well inside ~28 000 ports and the open-file limit. */
const DEVICES_PER_LOADGEN = 15_000;
/** Open files raised for HAProxy (two per connection), the nodes and the load generators. */
const NOFILE = 262_144;
/** Handshakes in flight per load generator, connecting and reconnecting (as scenario 4). */
const CONCURRENCY = 200;
/** Devices of the throughput runs, beside the connected fleet. */
const THROUGHPUT_DEVICES = 100;
const MiB = 2 ** 20;

export interface ClusterRow {
  nodes: number;
  devices: number;
  /** MQTT connections the nodes report (their /metrics) with the fleet connected. */
  connected: number;
  perNode: number[];
  connectSeconds: number;
  rssNodesMiB: number[];
  rssHaproxyMiB: number;
  /** Nodes and HAProxy together, per 10 000 connections. */
  rssPer10kMiB: number;
  /** What connecting the fleet added to the nodes and HAProxy, per 10 000 connections. */
  rssAddedPer10kMiB: number;
  /** QoS 1 publishes acknowledged per second through HAProxy. */
  publishesPerSecond: number;
  latency: LatencySummary | undefined;
  /** At one node: the same run straight to the node, without HAProxy. */
  directPublishesPerSecond?: number;
  directLatency?: LatencySummary | undefined;
  /** The SIGKILL of one node (2 and 4 nodes). */
  kill?: { victimConnections: number; dropped: number; reconnected: number; failedAttempts: number; ms: LatencySummary; connectedAfter: number };
  /** Open-file limits of HAProxy (two per connection through it), each node and each load generator: the ceiling when it could not be raised. */
  nofile: { haproxy: number; node: number; loadgen: number };
  loadAverage: number;
  /** `cat /proc/loadavg` at the end of the row. */
  procLoadavg: string;
}

export interface ClusterOptions {
  nodeCounts: readonly number[];
  devices: number;
  inflight: number;
  warmupMs: number;
  durationMs: number;
  reconnectTimeoutMs: number;
}

/**
 * The fleet of a full run: 20 000 devices, fewer where the open-file limit HAProxy can be given
 * (two descriptors a connection; it sizes its own connection limit from that) would cap it lower.
 */
export const DEFAULT_CLUSTER_CONNECTIONS = Math.min(20_000, Math.floor((reachableNofile() - 64) / 2 / 500) * 500);

/** The open-file limit a shell can raise itself to here: NOFILE as root with the capability, else the hard limit. */
function reachableNofile(): number {
  const out = spawnSync('/bin/sh', ['-c', `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ulimit -n`], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Infinity : Number(out) || 0;
}

export function clusterOptions(quick: boolean): ClusterOptions {
  return quick
    ? { nodeCounts: [1, 2, 4], devices: 300, inflight: 200, warmupMs: 500, durationMs: 2_000, reconnectTimeoutMs: 120_000 }
    : { nodeCounts: [1, 2, 4], devices: DEFAULT_CLUSTER_CONNECTIONS, inflight: 800, warmupMs: 3_000, durationMs: 10_000, reconnectTimeoutMs: 900_000 };
}

const procLoadavg = (): string => fs.readFileSync('/proc/loadavg', 'utf8').trim();

/**
 * Raises a process's open-file limit where the machine lets it (root with CAP_SYS_RESOURCE);
 * elsewhere the hard limit stays the ceiling, and the row says what it was.
 */
function raiseNofile(pid: number): void {
  spawnSync('prlimit', ['--pid', String(pid), `--nofile=${NOFILE}:${NOFILE}`], { stdio: 'ignore' });
}

/** The open-file limit a process runs with, from /proc/<pid>/limits. */
function nofile(pid: number): number {
  const limits = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
  return Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? NaN);
}

function pin(pid: number, cpus: string | undefined): void {
  if (cpus) spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * A broker node on free ports. A port found free can be taken before the node listens on it (the
 * previous fleet's thousands of connections have just left the ephemeral range busy): then
 * another pair is tried.
 */
async function startNode(env: Record<string, string>): Promise<PlatformProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPlatformProcess({ stages: 'broker,api', env });
    } catch (err) {
      if (attempt === 5 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

interface Proxy {
  port: number;
  pid: number;
  waitUp(names: readonly string[], ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** HAProxy on infra/local/haproxy-cfg's configuration, started under the raised open-file limit. */
async function startProxy(ctx: BenchContext, servers: { name: string; mqttPort: number; httpPort: number }[]): Promise<Proxy> {
  const dir = fs.mkdtempSync(path.join(ctx.workDir, 'haproxy-'));
  const socket = path.join(dir, 'stats.sock');
  const port = await freePort();
  const cfg = spawnSync(path.join(REPO_ROOT, 'infra/local/haproxy-cfg'), [String(port), ...servers.map((s) => `${s.name}=${s.mqttPort}:${s.httpPort}`)], {
    env: { ...process.env, HAPROXY_STATS_SOCKET: socket },
    encoding: 'utf8',
  });
  if (cfg.status !== 0) throw new Error(`haproxy-cfg failed: ${cfg.stderr}`);
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, cfg.stdout);
  const [cmd, args] = pinned(ctx.cpus.sut, HAPROXY, ['-db', '-f', file]);
  // pinned() raises the soft limit to the hard one; root may raise both first.
  args[1] = `ulimit -n ${NOFILE} 2>/dev/null; ${args[1]}`;
  const log = fs.openSync(path.join(ctx.workDir, `haproxy-${servers.length}.log`), 'a');
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const upServers = async (): Promise<string[]> => {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}); see ${ctx.workDir}`);
    const csv = await new Promise<string>((resolve) => {
      let text = '';
      const s = net.connect(socket, () => s.end('show stat\n'));
      s.on('data', (c) => (text += c.toString()));
      s.on('end', () => resolve(text));
      s.on('error', () => resolve(''));
    });
    return csv
      .split('\n')
      .map((l) => l.split(','))
      .filter((f) => f[0] === 'brokers' && f[1] !== 'BACKEND' && f[17] === 'UP')
      .map((f) => f[1]!);
  };
  const proxy: Proxy = {
    port,
    pid: child.pid!,
    async waitUp(names, ms) {
      const want = [...names].sort().join(',');
      const end = Date.now() + ms;
      while ((await upServers()).sort().join(',') !== want) {
        if (Date.now() > end) throw new Error(`HAProxy did not count ${want} as up within ${ms} ms`);
        await sleep(200);
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
  return proxy;
}

/** Runs scenario 8; a string says why it could not run. */
export async function cluster(ctx: BenchContext, opts: ClusterOptions): Promise<ClusterRow[] | string> {
  if (!fs.existsSync(HAPROXY)) return 'HAProxy is not installed (apt-get install -y haproxy)';
  const services = await provisionServices(process.env, (line) => ctx.log(`  ${line}`));
  if (!services.env) return 'Kafka and Redis are off (STREETWATCH_TEST_SERVICES=off)';
  const svc = services.env;
  const namespace = testNamespace('swbench');
  const rows: ClusterRow[] = [];
  try {
    const fleet = sensorFleet(ctx.city, opts.devices, 'cl');
    const probes = sensorFleet(ctx.city, THROUGHPUT_DEVICES, 'clq', 3);
    const secret = await provisionFleet(svc, namespace, [...fleet, ...probes]);
    ctx.log(`  ${fmt(fleet.length + probes.length)} devices provisioned in Redis`);
    for (const n of opts.nodeCounts) rows.push(await oneCount(ctx, { ...distributedEnv(svc, namespace), ...UNTHROTTLED }, n, fleet, probes, secret, opts));
  } finally {
    await dropNamespace(svc, namespace).catch((err: unknown) => ctx.log(`  could not drop ${namespace}: ${(err as Error).message}`));
    await services.stop();
  }
  return rows;
}

async function oneCount(
  ctx: BenchContext,
  svcEnv: Record<string, string>,
  n: number,
  fleet: ReturnType<typeof sensorFleet>,
  probes: ReturnType<typeof sensorFleet>,
  secret: string,
  opts: ClusterOptions,
): Promise<ClusterRow> {
  const env = {
    ...svcEnv,
    MQTT_PROXY_PROTOCOL: 'on',
    // The load comes from a few loopback addresses: the per-address connection rate and the
    // per-node connection cap would measure themselves, not the tier.
    MQTT_CONNECT_RATE: '1000000',
    MQTT_CONNECT_BURST: '1000000',
    MQTT_MAX_CONNECTIONS: '1000000',
  };
  const nodes: PlatformProcess[] = [];
  const loadgens: Child<LoadCommand>[] = [];
  let proxy: Proxy | undefined;
  // A failure, or the runner itself ending, must leave no node or HAProxy behind.
  const killAll = (): void => {
    for (const p of nodes) p.proc.child.kill('SIGKILL');
    try {
      if (proxy) process.kill(proxy.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killAll);
  try {
    for (let i = 0; i < n; i++) {
      const node = await startNode({ ...env, MQTT_NODE_ID: `node-${i}` });
      nodes.push(node);
      raiseNofile(node.pid);
      pin(node.pid, ctx.cpus.sut);
    }
    proxy = await startProxy(ctx, nodes.map((p, i) => ({ name: `node-${i}`, mqttPort: p.mqttPort, httpPort: p.httpPort })));
    await proxy.waitUp(nodes.map((_, i) => `node-${i}`), 30_000);
    await sleep(1_000);
    const idle = [...nodes.map((p) => sampleProc(p.pid)), sampleProc(proxy.pid)];

    const slices: (typeof fleet)[] = [];
    for (let i = 0; i < fleet.length; i += DEVICES_PER_LOADGEN) slices.push(fleet.slice(i, i + DEVICES_PER_LOADGEN));
    for (const [k] of slices.entries()) {
      const lg = await startLoadgen(ctx, `cluster-${n}-${k}`);
      loadgens.push(lg);
      raiseNofile(lg.pid);
    }
    const from = (k: number): string => `127.0.0.${k + 2}`;
    noteLoad(ctx, `cluster ${n} nodes`);
    const t0 = performance.now();
    const connected = await Promise.all(
      slices.map((slice, k) =>
        loadgens[k]!.request<ConnectResult>({ op: 'connect', host: '127.0.0.1', port: proxy!.port, devices: loadDevices(slice), secret, concurrency: CONCURRENCY, localAddress: from(k) }),
      ),
    );
    const connectSeconds = (performance.now() - t0) / 1000;
    ctx.log(`  ${n} node(s): ${fmt(connected.reduce((s, c) => s + c.connected, 0))} devices connected through HAProxy in ${connectSeconds.toFixed(1)} s`);
    await sleep(2_000);
    const perNode = await Promise.all(nodes.map((p) => p.metric('streetwatch_mqtt_connections')));
    const held = [...nodes.map((p) => sampleProc(p.pid)), sampleProc(proxy.pid)];
    const connectedNow = perNode.reduce((s, x) => s + x, 0);
    const rssTotal = held.reduce((s, x) => s + x.rss, 0);
    const rssAdded = rssTotal - idle.reduce((s, x) => s + x.rss, 0);

    // QoS 1 throughput beside the idle fleet: through HAProxy, and at one node also straight to it.
    const qos1 = async (port: number, label: string): Promise<RunResult> => {
      const lg = await startLoadgen(ctx, `cluster-${n}-${label}`);
      try {
        await lg.request<ConnectResult>({ op: 'connect', host: '127.0.0.1', port, devices: loadDevices(probes), secret, concurrency: CONCURRENCY, localAddress: from(slices.length) });
        return await lg.request<RunResult>({ op: 'closed', qos: 1, window: 1, inflight: opts.inflight, warmupMs: opts.warmupMs, durationMs: opts.durationMs });
      } finally {
        await lg.stop({ op: 'exit' }, 60_000);
      }
    };
    const through = await qos1(proxy.port, 'qos1');
    ctx.log(`  QoS 1 through HAProxy: ${fmt(through.rate)} publishes/s acknowledged (p99 ${through.latency?.p99.toFixed(1)} ms)`);
    const row: ClusterRow = {
      nodes: n,
      devices: fleet.length,
      connected: connectedNow,
      perNode,
      connectSeconds,
      rssNodesMiB: held.slice(0, n).map((s) => s.rss / MiB),
      rssHaproxyMiB: held[n]!.rss / MiB,
      rssPer10kMiB: connectedNow > 0 ? rssTotal / MiB / (connectedNow / 10_000) : NaN,
      rssAddedPer10kMiB: connectedNow > 0 ? rssAdded / MiB / (connectedNow / 10_000) : NaN,
      publishesPerSecond: through.rate,
      latency: through.latency,
      nofile: { haproxy: nofile(proxy.pid), node: nofile(nodes[0]!.pid), loadgen: nofile(loadgens[0]!.pid) },
      loadAverage: 0,
      procLoadavg: '',
    };
    if (n === 1) {
      const direct = await qos1(nodes[0]!.mqttPort, 'qos1-direct');
      row.directPublishesPerSecond = direct.rate;
      row.directLatency = direct.latency;
      ctx.log(`  QoS 1 straight to the node: ${fmt(direct.rate)} publishes/s acknowledged (p99 ${direct.latency?.p99.toFixed(1)} ms)`);
    }

    if (n >= 2) {
      const victimIndex = n - 1;
      const victim = nodes[victimIndex]!;
      const victimConnections = perNode[victimIndex]!;
      await Promise.all(loadgens.map((lg) => lg.request({ op: 'watch', host: '127.0.0.1', port: proxy!.port, secret, concurrency: CONCURRENCY })));
      const since = wallNow();
      victim.proc.child.kill('SIGKILL');
      await victim.proc.exited;
      const back = await Promise.all(loadgens.map((lg) => lg.request<ReconnectsResult>({ op: 'reconnects', since, quietMs: 3_000, timeoutMs: opts.reconnectTimeoutMs })));
      const ms = summarize(back.flatMap((b) => b.ms));
      const survivors = nodes.filter((_, i) => i !== victimIndex);
      const connectedAfter = (await Promise.all(survivors.map((p) => p.metric('streetwatch_mqtt_connections')))).reduce((s, x) => s + x, 0);
      row.kill = {
        victimConnections,
        dropped: back.reduce((s, b) => s + b.dropped, 0),
        reconnected: back.reduce((s, b) => s + b.reconnected, 0),
        failedAttempts: back.reduce((s, b) => s + b.failedAttempts, 0),
        ms,
        connectedAfter,
      };
      ctx.log(
        `  SIGKILL of node-${victimIndex} (${fmt(victimConnections)} devices): ${fmt(row.kill.reconnected)} of ${fmt(row.kill.dropped)} dropped back through HAProxy, p50 ${(ms.p50 / 1000).toFixed(1)} s, p99 ${(ms.p99 / 1000).toFixed(1)} s, max ${(ms.max / 1000).toFixed(1)} s; ${fmt(connectedAfter)} on the nodes left`,
      );
    }
    row.loadAverage = noteLoad(ctx, `cluster ${n} nodes end`);
    row.procLoadavg = procLoadavg();
    ctx.log(
      `  RSS: nodes ${row.rssNodesMiB.map((x) => x.toFixed(0)).join(' + ')} MiB, HAProxy ${row.rssHaproxyMiB.toFixed(0)} MiB: ${row.rssPer10kMiB.toFixed(0)} MiB per 10 000 connections (${row.rssAddedPer10kMiB.toFixed(0)} MiB added by them); /proc/loadavg ${row.procLoadavg}`,
    );
    return row;
  } finally {
    // The devices leave first, so that no node drains thousands of connections on its way out.
    await Promise.all(loadgens.map((lg) => lg.stop({ op: 'exit' }, 120_000)));
    await proxy?.stop();
    await Promise.all(nodes.map((p) => p.stop()));
    process.removeListener('exit', killAll);
  }
}
