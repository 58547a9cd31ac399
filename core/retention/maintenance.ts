/**
 * The retention job: every interval it runs a list of tasks (fold readings into roll-ups, prune
 * each resolution, prune settled outbox messages, prune the rules' subject lists, forget deleted
 * devices...), each one bounded step at a time with the event loop free between steps, so the
 * stores stay responsive while it works. Off the hot path: nothing waits for it, and a task that
 * fails is logged, counted and tried again at the next run.
 *
 * A task shared by the deployment (the stores are) runs in one process at a time: it takes a
 * lease in the key-value store first, and skips its turn while another process holds it. What
 * each task did last is recorded there too (`maintenance:last:{task}`), for /metrics and the
 * console of any process.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DEFAULT_MAINTENANCE_BATCH } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Clock, KeyValueStore } from '../ports.js';

/** How long a process may hold a task's lease before another takes it (it renews it while it works). */
export const TASK_LEASE_MS = 10 * 60_000;
/** Longest one task works in one run before it leaves the rest to the next run. */
export const DEFAULT_TASK_BUDGET_MS = 60_000;
/**
 * What one step of a sized task should take: a step is one synchronous transaction, so it holds
 * every PUBACK, API answer and delivery of the process for its length, and a p99 under 50 ms
 * leaves room for a few milliseconds only.
 */
export const DEFAULT_STEP_TARGET_MS = 8;
/** Rows of a sized task's first step, before its speed is known. */
const FIRST_STEP_ROWS = 100;
/** Fewest rows a step takes, however slow the rows are. */
const MIN_STEP_ROWS = 10;

export interface RetentionTask {
  /** Name in logs, metrics and the lease: `rollup`, `prune-raw`, `prune-outbox`... */
  readonly name: string;
  /** Only one process of the deployment runs it at a time. Default true. */
  readonly shared?: boolean;
  /** One step per run (the task does its whole pass in it). Default: steps until one handles nothing. */
  readonly once?: boolean;
  /** Runs at most this often (the default: every run). */
  readonly everyMs?: number;
  /**
   * One bounded step at `now`; resolves with the rows (or items) it handled, 0 when it is done
   * for this run. A sized task is told how many rows to take at most (`rows`): the runner sizes
   * its steps to DEFAULT_STEP_TARGET_MS by how fast its last ones went.
   */
  step(now: number, rows: number): Promise<number>;
  /**
   * Called once at the start of each run, before its first step: a task that would otherwise
   * follow what keeps arriving (readings stored between two steps) notes where this run ends.
   */
  begin?(): void | Promise<void>;
  /** Takes `rows` from the runner. Default false: the task bounds its own steps. */
  readonly sized?: boolean;
}

export interface TaskRun {
  task: string;
  /** Platform time the run started. */
  at: number;
  /** Rows or items handled. */
  handled: number;
  durationMs: number;
  /** Set when the run stopped on a failure (the next run tries again). */
  error?: string;
}

export interface MaintenanceOptions {
  tasks: readonly RetentionTask[];
  /** Leases and last-run records; shared by the processes of a deployment. */
  kv: KeyValueStore;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  intervalMs: number;
  /** Longest one task works per run. Default DEFAULT_TASK_BUDGET_MS. */
  taskBudgetMs?: number;
  /** Most rows one step of a sized task takes (STREETWATCH_MAINTENANCE_BATCH). Default DEFAULT_MAINTENANCE_BATCH. */
  maxStepRows?: number;
  /** Default DEFAULT_STEP_TARGET_MS. */
  stepTargetMs?: number;
  /** Milliseconds, for budgets and step durations. Default performance.now. */
  elapsed?: () => number;
}

const leaseKey = (task: string): string => `maintenance:lease:${task}`;
export const lastRunKey = (task: string): string => `maintenance:last:${task}`;

interface Lease {
  owner: string;
  until: number;
}

export class Maintenance {
  private readonly owner = randomUUID();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TaskRun[]> | undefined;
  private closed = false;
  /** When this process last ran each task (for `everyMs`). */
  private readonly ranAt = new Map<string, number>();
  /** The rows of each sized task's next step, as its last steps' speed says (one entry per task). */
  private readonly stepRows = new Map<string, number>();
  private readonly maxStepRows: number;

  constructor(private readonly o: MaintenanceOptions) {
    this.log = o.logger.child({ component: 'retention' });
    this.maxStepRows = o.maxStepRows ?? DEFAULT_MAINTENANCE_BATCH;
  }

  get tasks(): readonly RetentionTask[] {
    return this.o.tasks;
  }

  /** Runs every interval from now on (the first run after one interval). */
  start(): void {
    const schedule = (): void => {
      if (this.closed) return;
      this.timer = setTimeout(() => void this.run().finally(schedule), this.o.intervalMs);
      this.timer.unref();
    };
    schedule();
  }

  /** One run of every task (joins the run in progress, if any): tests with a controlled clock call it. */
  run(): Promise<TaskRun[]> {
    return (this.running ??= this.runAll().finally(() => {
      this.running = undefined;
    }));
  }

  private async runAll(): Promise<TaskRun[]> {
    const runs: TaskRun[] = [];
    for (const task of this.o.tasks) {
      if (this.closed) break;
      const run = await this.runTask(task);
      if (run) runs.push(run);
    }
    return runs;
  }

  private async runTask(task: RetentionTask): Promise<TaskRun | undefined> {
    const shared = task.shared ?? true;
    const at = this.o.clock.now();
    const previous = this.ranAt.get(task.name);
    if (task.everyMs !== undefined && previous !== undefined && at - previous < task.everyMs && at >= previous) return undefined;
    if (shared && !(await this.acquire(task.name, at))) return undefined;
    this.ranAt.set(task.name, at);
    const elapsed = this.o.elapsed ?? (() => performance.now());
    const started = elapsed();
    const budget = this.o.taskBudgetMs ?? DEFAULT_TASK_BUDGET_MS;
    const run: TaskRun = { task: task.name, at, handled: 0, durationMs: 0 };
    try {
      await task.begin?.();
      for (;;) {
        const rows = this.stepRows.get(task.name) ?? Math.min(FIRST_STEP_ROWS, this.maxStepRows);
        const s0 = elapsed();
        const n = await task.step(this.o.clock.now(), rows);
        const stepMs = elapsed() - s0;
        this.o.metrics.retentionStepSeconds.observe({ task: task.name }, stepMs / 1000);
        if (task.sized && n > 0) this.stepRows.set(task.name, this.nextStepRows(rows, n, stepMs));
        run.handled += n;
        if (n === 0 || task.once || this.closed || elapsed() - started > budget) break;
        // The event loop runs whatever waits (a PUBACK, a request) between two steps.
        await yieldToLoop();
        if (shared) await this.acquire(task.name, this.o.clock.now());
      }
    } catch (err) {
      run.error = err instanceof Error ? err.message : String(err);
      this.o.metrics.retentionErrors.inc({ task: task.name });
      this.log.warn({ err, task: task.name }, `retention task ${task.name} failed; it runs again in ${Math.round(this.o.intervalMs / 1000)} s`);
    } finally {
      run.durationMs = Math.round(elapsed() - started);
      if (shared) await this.release(task.name).catch(() => undefined);
    }
    this.o.metrics.retentionRows.inc({ task: task.name }, run.handled);
    this.o.metrics.retentionLastRun.set({ task: task.name }, run.at / 1000);
    if (run.handled > 0) this.log.info({ task: task.name, handled: run.handled, durationMs: run.durationMs }, `retention: ${task.name} handled ${run.handled}`);
    await this.o.kv.setMany(new Map([[lastRunKey(task.name), run]])).catch((err: unknown) => this.log.warn({ err }, 'could not record a retention run'));
    return run;
  }

  /**
   * The rows of the next step after `handled` of `asked` took `ms`: as many as the target
   * allows at that speed, at most twice as many as before (one fast step may be luck), between
   * MIN_STEP_ROWS and the configured maximum.
   */
  private nextStepRows(asked: number, handled: number, ms: number): number {
    const target = this.o.stepTargetMs ?? DEFAULT_STEP_TARGET_MS;
    const atSpeed = ms > 0 ? Math.floor((handled / ms) * target) : Number.POSITIVE_INFINITY;
    return Math.max(MIN_STEP_ROWS, Math.min(atSpeed, asked * 2, this.maxStepRows));
  }

  /** Takes or renews a task's lease; false while another process holds it. */
  private async acquire(task: string, now: number): Promise<boolean> {
    const key = leaseKey(task);
    const held = (await this.o.kv.getMany<Lease>([key])).get(key);
    if (held && held.owner !== this.owner && held.until > now) return false;
    return this.o.kv.compareAndSet(key, held, { owner: this.owner, until: now + TASK_LEASE_MS });
  }

  private async release(task: string): Promise<void> {
    const key = leaseKey(task);
    const held = (await this.o.kv.getMany<Lease>([key])).get(key);
    if (held?.owner === this.owner) await this.o.kv.compareAndSet(key, held, undefined);
  }

  /** The last run of each task as recorded in the store (by whichever process ran it). */
  async lastRuns(): Promise<TaskRun[]> {
    const runs = await this.o.kv.getMany<TaskRun>(this.o.tasks.map((t) => lastRunKey(t.name)));
    return [...runs.values()];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
