import { StreetWatchError } from '../errors.js';
import type { BatchHandler, Bus, BusRecord, BusTopic, BusTopics, SubscribeOptions, Subscription } from '../ports.js';

/** Records handed to a handler at once unless the subscriber asks otherwise. */
export const DEFAULT_MAX_BATCH = 1000;
/** First and last wait before a failed batch is handed over again. */
export const RETRY_BACKOFF_MS = { min: 50, max: 5_000 } as const;

interface Waiter {
  remaining: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Entry<T> {
  record: BusRecord<T>;
  waiter: Waiter;
}

export interface MemoryBusOptions {
  /** Called when a handler throws; the batch is then retried. */
  onHandlerError?: (topic: BusTopic, group: string, err: unknown) => void;
  /** Called after a handler succeeded, with the number of records it handled. */
  onHandled?: (topic: BusTopic, group: string, count: number) => void;
}

/**
 * The embedded bus: in process, no serialization (values are passed by reference and must be
 * treated as immutable). `publish` resolves when every consumer group has processed the
 * records, so a caller that awaits it knows their side effects are durable: in embedded mode
 * a QoS 1 PUBACK therefore means the reading is committed. One member per consumer group.
 */
export class MemoryBus implements Bus {
  private readonly topics = new Map<BusTopic, Map<string, GroupQueue<unknown>>>();
  private closed = false;

  constructor(private readonly opts: MemoryBusOptions = {}) {}

  publish<K extends BusTopic>(topic: K, records: BusRecord<BusTopics[K]>[]): Promise<void> {
    if (this.closed) return Promise.reject(new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']));
    const groups = this.topics.get(topic);
    if (!groups || groups.size === 0 || records.length === 0) return Promise.resolve();
    if (groups.size === 1) return groups.values().next().value!.enqueue(records);
    return Promise.all([...groups.values()].map((g) => g.enqueue(records))).then(() => undefined);
  }

  async subscribe<K extends BusTopic>(
    topic: K,
    group: string,
    handler: BatchHandler<BusTopics[K]>,
    opts: SubscribeOptions = {},
  ): Promise<Subscription> {
    let groups = this.topics.get(topic);
    if (!groups) this.topics.set(topic, (groups = new Map()));
    if (groups.has(group)) throw new Error(`memory bus: group "${group}" already consumes ${topic}`);
    const queue = new GroupQueue<BusTopics[K]>(
      handler,
      opts.maxBatch ?? DEFAULT_MAX_BATCH,
      (err) => this.opts.onHandlerError?.(topic, group, err),
      (count) => this.opts.onHandled?.(topic, group, count),
    );
    groups.set(group, queue as GroupQueue<unknown>);
    return {
      close: async () => {
        groups.delete(group);
        await queue.close();
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.topics.values()].flatMap((g) => [...g.values()]);
    this.topics.clear();
    await Promise.all(all.map((q) => q.close()));
  }
}

class GroupQueue<T> {
  private entries: Entry<T>[] = [];
  private head = 0;
  private running = false;
  private closing = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly handler: BatchHandler<T>,
    private readonly maxBatch: number,
    private readonly onError: (err: unknown) => void,
    private readonly onHandled: (count: number) => void,
  ) {}

  enqueue(records: BusRecord<T>[]): Promise<void> {
    if (this.closing) return Promise.reject(new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'consumer closing']));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: records.length, resolve, reject };
      for (const record of records) this.entries.push({ record, waiter });
      if (!this.running) {
        this.running = true;
        // Defer one turn so records published in the same I/O phase share a batch.
        this.idle = new Promise((done) => setImmediate(() => this.drain().finally(done)));
      }
    });
  }

  private async drain(): Promise<void> {
    let backoff: number = RETRY_BACKOFF_MS.min;
    while (this.head < this.entries.length && !this.closing) {
      const end = Math.min(this.entries.length, this.head + this.maxBatch);
      const batch = this.entries.slice(this.head, end);
      try {
        await this.handler(batch.map((e) => e.record));
      } catch (err) {
        this.onError(err);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, RETRY_BACKOFF_MS.max);
        continue;
      }
      backoff = RETRY_BACKOFF_MS.min;
      this.onHandled(batch.length);
      this.head = end;
      for (const e of batch) if (--e.waiter.remaining === 0) e.waiter.resolve();
      if (this.head > 4096 && this.head * 2 > this.entries.length) {
        this.entries = this.entries.slice(this.head);
        this.head = 0;
      }
    }
    if (this.closing) this.rejectPending();
    this.running = false;
  }

  private rejectPending(): void {
    const err = new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'consumer closed before processing']);
    const seen = new Set<Waiter>();
    for (let i = this.head; i < this.entries.length; i++) {
      const w = this.entries[i]!.waiter;
      if (!seen.has(w)) {
        seen.add(w);
        w.reject(err);
      }
    }
    this.entries = [];
    this.head = 0;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.idle;
    this.rejectPending();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
