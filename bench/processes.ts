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
  /** Cores of the platform's threads other than its event loop (pinHelperThreads), if they have cores of their own. */
  helpers: string | undefined;
  /** How the cores were split, for the report. */
  note: string;
}

/**
 * The last core for the load, the others for the system under test; nothing pinned on one core.
 * With `helperCore`, the platform's helper threads go to the load's core (pinHelperThreads).
 */
export function planCpus(helperCore = true): CpuPlan {
  const cores = os.availableParallelism();
  if (!TASKSET || cores < 2) return { sut: undefined, load: undefined, helpers: undefined, note: TASKSET ? 'one core: not pinned' : 'taskset not found: not pinned' };
  const last = cores - 1;
  const sut = last === 1 ? '0' : `0-${last - 1}`;
  const load = String(last);
  return helperCore
    ? { sut, load, helpers: load, note: `system under test on core ${sut}, its helper threads (SQLite checkpoints and indexing, the garbage collector's helpers) with the load generator and webhook receiver on core ${last} (taskset)` }
    : { sut, load, helpers: undefined, note: `system under test on core ${sut}, load generator and webhook receiver on core ${last} (taskset)` };
}

/**
 * Moves every thread of process `pid` but its main thread to `cpus`: the platform's helper
 * threads (the SQLite checkpointers and the device indexer, V8's garbage-collection helpers,
 * libuv's pool) run beside the load generator, and the event loop has its cores to itself. A
 * thread started later inherits the main thread's cores, so this is done again at each measured
 * window; `moved` holds the threads moved before, which are left alone.
 */
export function pinHelperThreads(pid: number, cpus: string | undefined, moved: Set<string>): void {
  if (!cpus || !TASKSET) return;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    if (tid === String(pid) || moved.has(tid)) continue;
    if (spawnSync(TASKSET, ['-p', '-c', cpus, tid], { stdio: 'ignore' }).status === 0) moved.add(tid);
  }
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
  /** User + system CPU time so far, seconds, all threads. */
  cpuSeconds: number;
  /** The same for the main thread alone (a Node process's event loop). */
  loopCpuSeconds: number;
  at: number;
}

/** RSS and CPU time of a process, from /proc (Linux). */
export function sampleProc(pid: number): ProcSample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { rss: rssKb * 1024, cpuSeconds: cpuTicks(`/proc/${pid}/stat`) / CLK_TCK, loopCpuSeconds: cpuTicks(`/proc/${pid}/task/${pid}/stat`) / CLK_TCK, at: performance.now() };
}

function cpuTicks(statFile: string): number {
  const stat = fs.readFileSync(statFile, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU used between two samples, as a share of one core. */
export function cpuShare(a: ProcSample, b: ProcSample): number {
  return (b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000);
}

/** The main thread's CPU between two samples, as a share of one core. */
export function loopShare(a: ProcSample, b: ProcSample): number {
  return (b.loopCpuSeconds - a.loopCpuSeconds) / ((b.at - a.at) / 1000);
}
