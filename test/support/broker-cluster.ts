/**
 * The clustered MQTT tier as infra/local/up --brokers N runs it: broker nodes in processes of
 * their own (`--stages broker,api`, so each answers /readyz and /metrics, with
 * MQTT_PROXY_PROTOCOL=on), Debian's HAProxy in front of them on the configuration
 * infra/local/haproxy-cfg prints, with a stats socket to see which nodes it counts as up.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config.js';
import { tempDir, waitFor } from './harness.js';
import { startPlatformProcess, type PlatformProcess } from './platform-process.js';
import { freePort } from './services.js';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Haproxy {
  readonly port: number;
  /** Resolves once HAProxy counts exactly these servers as up. */
  waitUp(names: readonly string[], ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/** HAProxy on infra/local/haproxy-cfg's configuration in front of the given servers; resolves once it counts them all up. */
export async function startHaproxy(servers: readonly { name: string; mqttPort: number; httpPort: number }[]): Promise<Haproxy> {
  const dir = tempDir('haproxy');
  const socket = path.join(dir, 'stats.sock');
  const port = await freePort();
  const cfg = spawnSync(path.join(REPO_ROOT, 'infra/local/haproxy-cfg'), [String(port), ...servers.map((s) => `${s.name}=${s.mqttPort}:${s.httpPort}`)], {
    env: { ...process.env, HAPROXY_STATS_SOCKET: socket },
    encoding: 'utf8',
  });
  if (cfg.status !== 0) throw new Error(`haproxy-cfg failed: ${cfg.stderr}`);
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, cfg.stdout);
  let out = '';
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));

  const upServers = async (): Promise<string[]> => {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${out}`);
    const csv = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = net.connect(socket, () => s.end('show stat\n'));
      s.on('data', (c) => (text += c.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    }).catch(() => '');
    return csv
      .split('\n')
      .map((l) => l.split(','))
      .filter((f) => f[0] === 'brokers' && f[1] !== 'BACKEND' && f[17] === 'UP')
      .map((f) => f[1]!);
  };
  const proxy: Haproxy = {
    port,
    async waitUp(names, ms = 30_000) {
      const want = [...names].sort().join(',');
      await waitFor(async () => ((await upServers()).sort().join(',') === want ? true : undefined), `HAProxy counting ${want} as up`, ms);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
  try {
    await proxy.waitUp(servers.map((s) => s.name));
  } catch (err) {
    await proxy.stop();
    throw err;
  }
  return proxy;
}

export interface ClusterBehindHaproxy {
  /** What devices connect to: HAProxy's port. */
  readonly url: string;
  readonly nodes: PlatformProcess[];
  /** The MQTT URL of one node, bypassing HAProxy. */
  nodeUrl(i: number): string;
  /** Open MQTT connections of each node, from its /metrics. */
  connections(): Promise<number[]>;
  /** Resolves once HAProxy counts exactly these nodes as up. */
  waitUp(nodes: readonly number[], ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startClusterBehindHaproxy(n: number, env: Record<string, string>): Promise<ClusterBehindHaproxy> {
  const nodes: PlatformProcess[] = [];
  let proxy: Haproxy | undefined;
  const stop = async (): Promise<void> => {
    await proxy?.stop();
    await Promise.all(nodes.map((p) => p.stop()));
  };
  try {
    for (let i = 0; i < n; i++) nodes.push(await startPlatformProcess({ stages: 'broker,api', env: { ...env, MQTT_NODE_ID: `node-${i}`, MQTT_PROXY_PROTOCOL: 'on' } }));
    const started = await startHaproxy(nodes.map((p, i) => ({ name: `node-${i}`, mqttPort: p.mqttPort, httpPort: p.httpPort })));
    proxy = started;
    return {
      url: `mqtt://127.0.0.1:${started.port}`,
      nodes,
      nodeUrl: (i) => `mqtt://127.0.0.1:${nodes[i]!.mqttPort}`,
      connections: () => Promise.all(nodes.map((p) => (p.proc.child.exitCode === null && p.proc.child.signalCode === null ? p.metric('streetwatch_mqtt_connections') : 0))),
      waitUp: (which, ms) => started.waitUp(which.map((i) => `node-${i}`), ms),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
