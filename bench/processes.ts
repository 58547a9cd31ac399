/**
 * The benchmark's processes: TypeScript children driven over IPC (the system under test, the
 * load generator, the webhook receiver), each pinned to its own cores with `taskset` when the
 * machine has it and more than one core, and what the kernel says they use (/proc).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { platformNodeArgs } from '../app/node-flags.js';
import { REPO_ROOT } from '../core/config.js';

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => fs.existsSync(p));
/** Clock ticks per second for /proc/<pid>/stat times; 100 on every Linux this runs on. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export interface CpuPlan {
  /** Cores of the system under test (a broker, the platform). */
  sut: string | undefined;
  /** Cores of the load generator and the webhook receiver. */
  load: string | undefined;
  /** How the cores were split, for the report. */
  note: string;
}

/** The last core for the load, the others for the system under test; nothing pinned on one core. */
export function planCpus(): CpuPlan {
  const cores = os.availableParallelism();
  if (!TASKSET || cores < 2) return { sut: undefined, load: undefined, note: TASKSET ? 'one core: not pinned' : 'taskset not found: not pinned' };
  const last = cores - 1;
  const sut = last === 1 ? '0' : `0-${last - 1}`;
  return { sut, load: String(last), note: `system under test on core ${sut}, load generator and webhook receiver on core ${last} (taskset)` };
}

/**
 * The command line that runs `command` pinned to `cpus` (taskset) with the open-files limit
 * raised to the hard limit (10 000 connections need more than the usual 1024). Each step
 * execs the next, so the pid is the command's.
 */
export function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  const inner = cpus && TASKSET ? [TASKSET, '-c', cpus, command, ...args] : [command, ...args];
  return ['/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...inner]];
}

type Reply = { ok: true; result: unknown } | { ok: false; error: string };

/** A Node child speaking the `{ok, result}` protocol over IPC, one request at a time. */
export class Child<C extends { op: string }> {
  private queue: Promise<unknown> = Promise.resolve();
  private waiting: ((r: Reply) => void) | undefined;
  readonly exited: Promise<number | null>;
  ready!: unknown;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.on('message', (msg: Reply) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(msg);
    });
    proc.once('exit', (code, signal) => this.waiting?.({ ok: false, error: `${name} exited (${code ?? signal}) before answering` }));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /**
   * Starts `node --import tsx <script>` pinned to `cpus`, or with `platform` as a platform process
   * starts (app/node-flags.ts); resolves with the child's first message.
   */
  static async start<C extends { op: string }>(
    name: string,
    script: string,
    opts: { cpus?: string | undefined; env?: NodeJS.ProcessEnv; log?: string; platform?: boolean } = {},
  ): Promise<Child<C>> {
    const out = opts.log ? fs.openSync(opts.log, 'a') : 'ignore';
    const file = path.join(REPO_ROOT, script);
    const [cmd, args] = pinned(opts.cpus, process.execPath, opts.platform ? platformNodeArgs(file) : ['--import', 'tsx', file]);
    const proc = spawn(cmd, args, { cwd: REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', out, out, 'ipc'] });
    if (typeof out === 'number') fs.closeSync(out);
    const child = new Child<C>(name, proc);
    const first = await new Promise<Reply>((resolve) => {
      child.waiting = resolve;
    });
    if (!first.ok) throw new Error(`${name}: ${first.error}${opts.log ? ` (see ${opts.log})` : ''}`);
    child.ready = first.result;
    return child;
  }

  request<R>(cmd: C): Promise<R> {
    const next = this.queue.then(
      () =>
        new Promise<R>((resolve, reject) => {
          this.waiting = (r) => (r.ok ? resolve(r.result as R) : reject(new Error(`${this.name}: ${r.error}`)));
          this.proc.send(cmd);
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Sends a last command (stop, exit), then SIGKILL if the child is still there after `ms`. */
  async stop(cmd: C, ms = 30_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.send(cmd);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface ProcSample {
  /** Resident set size, bytes. */
  rss: number;
  /** User + system CPU time so far, seconds. */
  cpuSeconds: number;
  at: number;
}

/** RSS and CPU time of a process, from /proc (Linux). */
export function sampleProc(pid: number): ProcSample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss: rssKb * 1024, cpuSeconds: ticks / CLK_TCK, at: performance.now() };
}

/** CPU used between two samples, as a share of one core. */
export function cpuShare(a: ProcSample, b: ProcSample): number {
  return (b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000);
}
