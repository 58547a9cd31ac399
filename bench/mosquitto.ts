/**
 * The reference broker: Debian's Mosquitto, started by the benchmark on a free port of
 * 127.0.0.1 with a minimal configuration of its own (never the system service): no
 * persistence, anonymous clients, and in-flight and queue limits raised so that the relay
 * to one subscriber is limited by the broker's work, not by a window of 20 messages.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/services.js';
import { pinned } from './processes.js';

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

export interface Mosquitto {
  port: number;
  pid: number;
  version: string;
  stop(): Promise<void>;
}

export function findMosquitto(): string | undefined {
  return CANDIDATES.find((p) => fs.existsSync(p));
}

export function mosquittoVersion(bin: string): string {
  const out = spawnSync(bin, ['-h'], { encoding: 'utf8' });
  return /mosquitto version (\S+)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? 'unknown';
}

async function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startMosquitto(opts: { cpus: string | undefined; log: string }): Promise<Mosquitto> {
  const bin = findMosquitto();
  if (!bin) throw new Error('mosquitto is not installed: apt-get install -y mosquitto');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-bench-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_inflight_messages 1000',
      'max_queued_messages 100000',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const out = fs.openSync(opts.log, 'a');
  const [cmd, args] = pinned(opts.cpus, bin, ['-c', conf]);
  const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, child, 10_000);
  return {
    port,
    pid: child.pid!,
    version: mosquittoVersion(bin),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
