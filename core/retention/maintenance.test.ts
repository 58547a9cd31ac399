import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { Metrics } from '../metrics.js';
import { MemoryKeyValueStore } from '../store/memory-kv.js';
import { Maintenance, TASK_LEASE_MS, lastRunKey, type RetentionTask } from './maintenance.js';

const logger = createLogger('silent');

function maintenance(tasks: RetentionTask[], kv = new MemoryKeyValueStore(), clock = { now: () => 1_000 }) {
  const metrics = new Metrics({ defaultMetrics: false });
  return { m: new Maintenance({ tasks, kv, clock, logger, metrics, intervalMs: 60_000 }), metrics, kv };
}

/** A task with `rows` rows to work through, `perStep` at a time. */
function countdown(name: string, rows: number, perStep: number, extra: Partial<RetentionTask> = {}): RetentionTask & { steps: number } {
  let left = rows;
  const task = {
    name,
    steps: 0,
    ...extra,
    async step() {
      task.steps++;
      const n = Math.min(left, perStep);
      left -= n;
      return n;
    },
  };
  return task;
}

describe('the retention job', () => {
  it('runs each task a step at a time until it is done, letting other work run between steps, and records what it did', async () => {
    const task = countdown('prune-raw', 10_500, 1_000);
    const { m, kv, metrics } = maintenance([task]);
    // Work queued on the event loop gets to run between two steps.
    let interleaved = 0;
    const tickle = (): void => {
      interleaved++;
      if (task.steps < 11) setImmediate(tickle);
    };
    setImmediate(tickle);
    const [run] = await m.run();
    expect(run).toMatchObject({ task: 'prune-raw', at: 1_000, handled: 10_500 });
    expect(task.steps).toBe(12);
    expect(interleaved).toBeGreaterThanOrEqual(10);
    expect((await kv.getMany([lastRunKey('prune-raw')])).get(lastRunKey('prune-raw'))).toMatchObject({ handled: 10_500 });
    expect((await metrics.retentionRows.get()).values[0]?.value).toBe(10_500);
    // Every step's time, the last (that found nothing) too.
    const steps = (await metrics.retentionStepSeconds.get()).values.find((v) => v.metricName === 'streetwatch_retention_step_seconds_count');
    expect(steps).toMatchObject({ labels: { task: 'prune-raw' }, value: 12 });
  });

  it('runs a shared task in one process at a time, and takes it over once the holder lease has expired', async () => {
    const kv = new MemoryKeyValueStore();
    let now = 1_000;
    const clock = { now: () => now };
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let first = true;
    const slow: RetentionTask = {
      name: 'rollup',
      async step() {
        if (!first) return 0;
        first = false;
        await held;
        return 1;
      },
    };
    const other = countdown('rollup', 5, 5);
    const local = countdown('storage-stats', 1, 1, { shared: false, once: true });
    const a = maintenance([slow], kv, clock).m;
    const b = maintenance([other, local], kv, clock).m;
    const running = a.run();
    await new Promise((r) => setImmediate(r));
    // A holds the lease: B skips the shared task, and runs its own.
    expect((await b.run()).map((r) => r.task)).toEqual(['storage-stats']);
    expect(other.steps).toBe(0);
    // A process that died holding it: once the lease has run out, another takes over.
    now += TASK_LEASE_MS + 1;
    expect((await b.run()).map((r) => [r.task, r.handled])).toEqual([['rollup', 5], ['storage-stats', 0]]);
    release();
    await running;
  });

  it('counts and logs a failing task, goes on with the others, and tries it again next run', async () => {
    let fail = true;
    const flaky: RetentionTask = {
      name: 'prune-outbox',
      async step() {
        if (fail) throw new Error('database is locked');
        return 0;
      },
    };
    const after = countdown('prune-5m', 3, 3);
    const { m, metrics } = maintenance([flaky, after]);
    const runs = await m.run();
    expect(runs).toMatchObject([{ task: 'prune-outbox', handled: 0, error: 'database is locked' }, { task: 'prune-5m', handled: 3 }]);
    expect((await metrics.retentionErrors.get()).values).toMatchObject([{ labels: { task: 'prune-outbox' }, value: 1 }]);
    fail = false;
    expect((await m.run())[0]).not.toHaveProperty('error');
  });

  it('runs a task with a period of its own at most that often', async () => {
    let now = 0;
    const task = countdown('deleted-devices', 100, 1, { shared: false, once: true, everyMs: 3_600_000 });
    const { m } = maintenance([task], new MemoryKeyValueStore(), { now: () => now });
    await m.run();
    now += 60_000;
    await m.run();
    expect(task.steps).toBe(1);
    now += 3_600_000;
    await m.run();
    expect(task.steps).toBe(2);
  });

  it('sizes the steps of a sized task to the target by how fast its rows went, within the configured maximum', async () => {
    // A clock the steps move: each row costs the task its time, nothing else does.
    let ms = 0;
    const sized = (name: string, msPerRow: number, total: number): RetentionTask & { asked: number[] } => {
      let left = total;
      const task = {
        name,
        sized: true,
        asked: [] as number[],
        async step(_now: number, rows: number) {
          task.asked.push(rows);
          const n = Math.min(left, rows);
          left -= n;
          ms += n * msPerRow;
          return n;
        },
      };
      return task;
    };
    const slow = sized('rollup', 0.05, 1_000);
    const fast = sized('prune-raw', 0.001, 20_000);
    const crawling = sized('prune-5m', 2, 200);
    const m = new Maintenance({ tasks: [slow, fast, crawling], kv: new MemoryKeyValueStore(), clock: { now: () => 1_000 }, logger, metrics: new Metrics({ defaultMetrics: false }), intervalMs: 60_000, maxStepRows: 2_000, stepTargetMs: 8, elapsed: () => ms });
    await m.run();
    // 0.05 ms a row: 160 rows make 8 ms. The rest of the run, and the next one, stay there.
    expect(slow.asked.slice(0, 4)).toEqual([100, 160, 160, 160]);
    // Fast rows: twice as many each step, up to the maximum.
    expect(fast.asked.slice(0, 7)).toEqual([100, 200, 400, 800, 1_600, 2_000, 2_000]);
    // Slower than the target a row: the fewest a step takes.
    expect(crawling.asked.slice(0, 3)).toEqual([100, 10, 10]);
    await m.run();
    expect(slow.asked.at(-1)).toBe(160);
  });
});
