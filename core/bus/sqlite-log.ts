/**
 * The embedded bus: a durable, bounded log in SQLite with the semantics of the Kafka adapter.
 *
 * - `publish` resolves once its records are committed to the log (synchronous=NORMAL in WAL
 *   mode: they survive a killed process). Publishes made since the last commit share the next
 *   transaction, as Kafka's producer shares a request (linger.ms): commits are at least
 *   `commitGapMs` apart.
 * - Each consumer group keeps a committed position per topic and runs at its own pace. A handler
 *   may publish and write as part of its batch (BatchContext): those land in the transaction that
 *   moves its position, so a store that shares this database (the readings) is written exactly
 *   once. Other positions are committed within DEFAULT_COMMIT_INTERVAL_MS of the batch (at least
 *   once: a crash replays what a group handled since).
 * - The bound: records not yet taken by every subscribed group of a topic, at most
 *   `maxPendingRecords` and `maxPendingBytes`. A publish that does not fit waits (the broker,
 *   waiting on it, stops reading that device's socket), so a slow stage slows its producers
 *   instead of growing memory or disk; beyond a tenth of the bound's records (or its bytes) of
 *   publishes waiting as well, one is refused (SW_ERR_UNAVAILABLE).
 * - Records every known group has taken are pruned, a little with each commit. A group that is
 *   not subscribed (a stage this process no longer runs, a live view of a previous run) holds
 *   records back at most `maxPendingRecords` behind the end, and is forgotten after
 *   `groupRetentionMs` without a subscriber.
 * - Records not yet taken by every subscribed group are also held in memory (the bound applies):
 *   consumers that keep up get them by reference, never decoded; one behind (after a restart)
 *   reads the table.
 * - Records a store writes in the same commit (`stored`: the readings, when they share this
 *   database) are kept in the log as the row ids they were stored under, not a second copy; one
 *   whose row is gone by the time a group behind reads it is counted as skipped.
 * - Failures follow core/bus/failure-policy.ts; a parked record goes to `bus_parked`, with its
 *   cause, for `parkedRetentionMs` and at most `maxParked` of them.
 *
 * One process writes a data directory's log (the embedded mode is one process).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { StreetWatchError } from '../errors.js';
import { Fifo } from '../fifo.js';
import type { Logger } from '../logger.js';
import {
  BUS_TOPICS,
  type BatchHandler,
  type Bus,
  type BusRecord,
  type BusTopic,
  type BusTopics,
  type ParkedFilter,
  type ParkedRecord,
  type SubscribeOptions,
  type Subscription,
} from '../ports.js';
import { openDatabase, WRITER_PAGE_CACHE_KIB } from '../store/sqlite/open.js';
import { deliver, failurePolicy, parkedCause, type FailureKind, type FailurePolicy } from './failure-policy.js';
import { LogStore, ROW_MAX_BYTES, ROW_MAX_RECORDS, encodeRecord, type EncodedRecords, type StoredRecords } from './sqlite-log-store.js';
import { LogBatch, LogConsumer, encodeAppend, encodedAppend, pending, tailStart, trim, type Append, type Entry, type TopicLog, type WriteItem } from './sqlite-log-topic.js';

/** Records handed to a handler at once unless the subscriber asks otherwise (as on Kafka). */
export const DEFAULT_MAX_BATCH = 1000;
/** Records of a topic not yet taken by every subscribed group before publishes wait: a few seconds of a busy city. */
export const DEFAULT_MAX_PENDING_RECORDS = 50_000;
/** The same bound in bytes (keys, values, payloads): what the log may hold in memory per topic. */
export const DEFAULT_MAX_PENDING_BYTES = 32 * 1024 * 1024;
/** Positions of groups that only read are committed at least this often (a crash replays at most this much). */
export const DEFAULT_COMMIT_INTERVAL_MS = 200;
/**
 * Commits at least this far apart: what becomes ready in between shares the next commit (a group
 * commit). Each commit rewrites the last page of every table and index it appends to; one per
 * turn of the event loop, at a thousand turns a second, wrote several times the bytes of the
 * records themselves.
 */
export const DEFAULT_COMMIT_GAP_MS = 2;
/**
 * Topics whose writes commit on the next check phase, without waiting out the commit gap: the
 * alerts and tickets on their way to a sub-center's webhook pass several commits, and are few.
 */
export const DEFAULT_IMMEDIATE_TOPICS: readonly BusTopic[] = ['sw.alerts', 'sw.tickets'];
/** How often the log is pruned and its gauges reported while nothing is published. */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 1_000;
/**
 * A group without a subscriber is forgotten after this long, as Kafka forgets an empty group's
 * offsets. Embedded, every stage runs in the one process, so an absent group is a restart in
 * progress or a live view of an earlier run (a group per API process): an hour covers the first.
 */
export const DEFAULT_GROUP_RETENTION_MS = 3_600_000;
/** Parked records are kept this long for the admin to list and replay. */
export const DEFAULT_PARKED_RETENTION_MS = 7 * 24 * 3_600_000;
/** At most this many parked records are kept (the newest): a flood of bad records cannot fill the disk. */
export const DEFAULT_MAX_PARKED = 10_000;
/** Most parked records one listing returns. */
export const MAX_PARKED_LIST = 1_000;
/** How often the groups subscribed here are marked seen (their time decides when an absent one is forgotten). */
const SEEN_REFRESH_MS = 3_600_000;
/** Publishes of a topic that may wait for room in the log at least, however small its bound (else a tenth of it). */
const WAITING_PUBLISHES_MIN = 1_000;
/** The file of a log kept on its own (when the readings are not in SQLite). */
export const BUS_DATABASE_FILE = 'bus.db';

export interface SqliteLogBusOptions {
  /** The database the log lives in; its tables are created when missing. */
  database: Database.Database;
  /** Close the database when the bus closes. Default false (its owner closes it). */
  ownsDatabase?: boolean;
  /** Stores in `database` whose writes, joined to a batch's commit, hold the records that batch publishes to a topic. */
  stored?: Partial<Record<BusTopic, StoredRecords>>;
  /** Default DEFAULT_MAX_BATCH. */
  maxBatch?: number;
  /** Default DEFAULT_MAX_PENDING_RECORDS. */
  maxPendingRecords?: number;
  /** Default DEFAULT_MAX_PENDING_BYTES. */
  maxPendingBytes?: number;
  /** Default DEFAULT_COMMIT_INTERVAL_MS. */
  commitIntervalMs?: number;
  /** Default DEFAULT_COMMIT_GAP_MS; 0 commits on every turn with something to commit. */
  commitGapMs?: number;
  /** Default DEFAULT_IMMEDIATE_TOPICS. */
  immediateTopics?: readonly BusTopic[];
  /** Default DEFAULT_MAINTENANCE_INTERVAL_MS. */
  maintenanceIntervalMs?: number;
  /** Default DEFAULT_GROUP_RETENTION_MS. */
  groupRetentionMs?: number;
  /** Default DEFAULT_PARKED_RETENTION_MS. */
  parkedRetentionMs?: number;
  /** Default DEFAULT_MAX_PARKED. */
  maxParked?: number;
  /** Retries and parking (core/bus/failure-policy.ts). */
  failure?: Partial<FailurePolicy>;
  /** Wall-clock time of appends, group activity and parking. Default Date.now. */
  now?: () => number;
  logger?: Logger;
  /** Called when a handler (or its batch's commit) fails; the batch is then retried or its record parked. */
  onHandlerError?: (topic: BusTopic, group: string, err: unknown, kind: FailureKind) => void;
  /** Called after a handler succeeded, with the number of records it handled. */
  onHandled?: (topic: BusTopic, group: string, count: number, seconds: number) => void;
  /** Called when a record is parked. */
  onParked?: (topic: BusTopic, group: string, code: string) => void;
  /** Called when a group that was away finds records it had not taken pruned (see the class comment). */
  onSkipped?: (topic: BusTopic, group: string, count: number) => void;
  /** Called at each maintenance with what each topic holds that subscribed groups have not taken. */
  onBacklog?: (topic: BusTopic, records: number, bytes: number) => void;
}

export class SqliteLogBus implements Bus {
  readonly database: Database.Database;
  private readonly store: LogStore;
  private readonly stored: Partial<Record<BusTopic, StoredRecords>>;
  private readonly topics = new Map<BusTopic, TopicLog>();
  private readonly policy: FailurePolicy;
  private readonly now: () => number;
  private readonly maxPendingRecords: number;
  private readonly maxPendingBytes: number;
  private readonly maxWaitingPublishes: number;
  private readonly commitIntervalMs: number;
  /** Writes waiting for their turn: consumers' commits, parks and replays, in order. */
  private queue: WriteItem[] = [];
  /**
   * Plain publishes to one topic, per topic, in order (core/fifo.ts): at the bound
   * thousands of them wait, and a turn looks only at the head of each.
   */
  private readonly publishes = new Map<BusTopic, { items: Fifo<WriteItem>; bytes: number }>();
  private waitingPublishes = 0;
  /** Consumers whose position moved since it was last written, and since when (performance.now()). */
  private readonly dirty = new Map<LogConsumer, number>();
  /** The next turn, soon: on the next check phase (`immediate`), or once the commit gap has passed. */
  private soon: { cancel(): void; immediate: boolean } | undefined;
  private readonly immediateTopics: ReadonlySet<BusTopic>;
  /** When the last turn with something to commit began (performance.now()). */
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  private later: NodeJS.Timeout | undefined;
  private readonly maintenance: NodeJS.Timeout;
  private closed = false;
  private seenRefreshedAt = 0;
  /** One transaction per turn, and a savepoint inside it for each item that may fail alone. */
  private readonly turnTx: (ready: WriteItem[], positions: LogConsumer[], now: number, prunes: [TopicLog, number][]) => void;
  private readonly itemTx: (item: WriteItem, now: number) => void;

  /** A log in its own file (`bus.db` of the data directory when the readings are elsewhere). */
  static open(dataDir: string, opts: Omit<SqliteLogBusOptions, 'database' | 'ownsDatabase'> = {}): SqliteLogBus {
    return new SqliteLogBus({ ...opts, database: openDatabase(path.join(dataDir, BUS_DATABASE_FILE), WRITER_PAGE_CACHE_KIB), ownsDatabase: true });
  }

  constructor(private readonly opts: SqliteLogBusOptions) {
    this.database = opts.database;
    this.stored = opts.stored ?? {};
    this.store = new LogStore(opts.database, this.stored);
    this.policy = failurePolicy(opts.failure);
    this.now = opts.now ?? Date.now;
    this.commitIntervalMs = opts.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
    this.maxPendingRecords = opts.maxPendingRecords ?? DEFAULT_MAX_PENDING_RECORDS;
    this.maxPendingBytes = opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.maxWaitingPublishes = Math.max(WAITING_PUBLISHES_MIN, Math.floor(this.maxPendingRecords / 10));
    this.immediateTopics = new Set(opts.immediateTopics ?? DEFAULT_IMMEDIATE_TOPICS);
    for (const name of BUS_TOPICS) {
      const last = this.store.last(name);
      const groups = this.store.groups(name);
      // After a full prune the table is empty: offsets continue after every group's position.
      const next = Math.max((last ?? 0) + 1, ...groups.map((g) => g.position));
      this.topics.set(name, {
        name,
        next,
        staged: next,
        first: this.store.first(name) ?? next,
        entries: [],
        head: 0,
        tailBytes: 0,
        consumers: new Map(),
        absent: new Map(groups.map((g) => [g.group, g.position])),
        waiters: [],
      });
    }
    this.turnTx = this.database.transaction((ready: WriteItem[], positions: LogConsumer[], now: number, prunes: [TopicLog, number][]) => this.writeTurn(ready, positions, now, prunes));
    this.itemTx = this.database.transaction((item: WriteItem, now: number) => this.apply(item, now));
    this.maintenance = setInterval(() => this.maintain(), opts.maintenanceIntervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS);
    this.maintenance.unref();
  }

  publish<K extends BusTopic>(topic: K, records: BusRecord<BusTopics[K]>[]): Promise<void> {
    if (this.closed) return Promise.reject(new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']));
    if (records.length === 0) return Promise.resolve();
    let append: Append;
    try {
      append = encodeAppend(topic, records);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.write({ appends: [append], joined: [] });
  }

  async subscribe<K extends BusTopic>(topic: K, group: string, handler: BatchHandler<BusTopics[K]>, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (this.closed) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']);
    const t = this.topics.get(topic)!;
    if (t.consumers.has(group)) throw new Error(`embedded bus: group "${group}" already consumes ${topic} in this process`);
    const stored = this.store.group(topic, group)?.position;
    let position = stored ?? (opts.from === 'latest' ? t.next : t.first);
    if (position < t.first) {
      // Away longer than the log held its records for it (see the class comment).
      this.opts.onSkipped?.(topic, group, t.first - position);
      this.opts.logger?.warn({ topic, group, skipped: t.first - position }, 'a returning consumer group missed records pruned while it was away');
      position = t.first;
    }
    // Committed at once: a group that asked for the latest resumes from here if it comes back.
    this.store.setPosition(topic, group, position, this.now());
    t.absent.delete(group);
    const consumer = new LogConsumer(t, group, handler as BatchHandler<unknown>, opts.maxBatch ?? this.opts.maxBatch ?? DEFAULT_MAX_BATCH, position);
    t.consumers.set(group, consumer);
    consumer.running = this.consume(consumer);
    return { close: () => this.unsubscribe(consumer) };
  }

  async listParked(filter: ParkedFilter = {}): Promise<ParkedRecord[]> {
    return this.store.listParked(filter, MAX_PARKED_LIST);
  }

  async replayParked(id: string): Promise<ParkedRecord | undefined> {
    if (this.closed) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']);
    const found = this.store.parkedRecord(id);
    if (!found) return undefined;
    const at = this.now();
    // Published and marked in one commit: a crash cannot leave it replayed but shown as not.
    await this.write({ appends: [encodeAppend(found.topic, [found.record])], joined: [() => this.store.markReplayed(id, at)] });
    return this.store.parked(id);
  }

  /**
   * Records published that a subscribed group has not taken yet, plus writes waiting for their
   * commit: zero once every consumer here has caught up, including with what its handlers
   * published in turn (tests wait for it instead of sleeping).
   */
  backlog(): number {
    let n = this.queue.length + this.waitingPublishes + (this.soon ? 1 : 0);
    for (const t of this.topics.values()) n += pending(t);
    return n;
  }

  /** Stops every consumer after its batch in hand, commits what is queued and every position, and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.maintenance);
    const consumers = [...this.topics.values()].flatMap((t) => [...t.consumers.values()]);
    await Promise.all(consumers.map((c) => this.unsubscribe(c)));
    this.soon?.cancel();
    clearTimeout(this.later);
    // With no consumer left nothing waits for room: the last turn commits everything queued.
    this.turn();
    if (this.opts.ownsDatabase && this.database.open) this.database.close();
  }

  // ---------------------------------------------------------------------------------------
  // Consuming

  private async consume(c: LogConsumer): Promise<void> {
    const { name } = c.topic;
    while (!c.closing) {
      const batch = this.fetch(c, c.maxBatch);
      if (batch.length === 0) {
        await new Promise<void>((resolve) => {
          c.wake = resolve;
          c.topic.waiters.push(resolve);
        });
        c.wake = undefined;
        continue;
      }
      const done = await deliver(batch, this.policy, {
        process: (entries) => this.process(c, entries),
        park: (entry, cause, attempts) => this.park(c, entry, cause, attempts),
        wait: (ms) => c.sleep(ms),
        onError: (err, kind) => this.opts.onHandlerError?.(name, c.group, err, kind),
      });
      if (!done) return;
    }
  }

  /** Up to `max` records from the consumer's position on: from memory when it still holds them, else from the table. */
  private fetch(c: LogConsumer, max: number): Entry[] {
    const t = c.topic;
    const from = c.position;
    if (from >= t.next) return [];
    const inMemory = tailStart(t);
    if (from >= inMemory) {
      const i = t.head + (from - inMemory);
      return t.entries.slice(i, i + max);
    }
    const { entries, missing } = this.store.read(t.name, from, inMemory, max);
    if (missing > 0) {
      this.opts.onSkipped?.(t.name, c.group, missing);
      this.opts.logger?.warn({ topic: t.name, group: c.group, skipped: missing }, 'records kept as row ids of a store whose rows are gone were skipped');
    }
    if (entries.length > 0) return entries;
    // Every record up to the tail in memory was gone: the group moves past them.
    this.advance(c, inMemory);
    return this.fetch(c, max);
  }

  private async process(c: LogConsumer, entries: Entry[]): Promise<void> {
    const batch = new LogBatch(this.database, this.stored);
    const started = performance.now();
    await c.handler(
      entries.map((e) => e.record),
      batch,
    );
    const position = entries[entries.length - 1]!.seq + 1;
    if (batch.appends.length > 0 || batch.joined.length > 0) {
      await this.write({ appends: batch.appends, joined: batch.joined, position: { consumer: c, position } });
    } else {
      this.advance(c, position);
    }
    this.opts.onHandled?.(c.topic.name, c.group, entries.length, (performance.now() - started) / 1000);
    // Committed: a failure from here on must not hand the batch over again.
    for (const then of batch.after) {
      try {
        await then();
      } catch (err) {
        this.opts.logger?.error({ err, topic: c.topic.name, group: c.group }, 'a committed batch\'s follow-up failed');
      }
    }
  }

  private async park(c: LogConsumer, entry: Entry, cause: unknown, attempts: number): Promise<void> {
    const { code, message } = parkedCause(cause);
    const id = randomUUID();
    await this.write({
      appends: [],
      joined: [],
      park: { id, seq: entry.seq, record: encodeRecord(c.topic.name, entry.record), code, message, attempts },
      position: { consumer: c, position: entry.seq + 1 },
    });
    this.opts.onParked?.(c.topic.name, c.group, code);
    this.opts.logger?.warn({ topic: c.topic.name, group: c.group, key: entry.record.key, parkedId: id, code, attempts }, 'record parked: the group moves on without it');
  }

  /** A position moved without a write of its own: committed with a turn once half the interval old, or by the interval's timer. */
  private advance(c: LogConsumer, position: number): void {
    c.position = position;
    if (!this.dirty.has(c)) this.dirty.set(c, performance.now());
    this.moved(c.topic);
  }

  private async unsubscribe(c: LogConsumer): Promise<void> {
    if (c.topic.consumers.get(c.group) !== c) return c.running;
    c.stop();
    await c.running;
    c.topic.consumers.delete(c.group);
    if (c.position !== c.persisted && this.database.open) {
      this.store.setPosition(c.topic.name, c.group, c.position, this.now());
      c.persisted = c.position;
    }
    this.dirty.delete(c);
    c.topic.absent.set(c.group, c.position);
    this.moved(c.topic);
  }

  // ---------------------------------------------------------------------------------------
  // Writing: one transaction per turn of the event loop for everything that is ready

  private write(item: Omit<WriteItem, 'resolve' | 'reject'>): Promise<void> {
    if (!this.database.open) return Promise.reject(new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']));
    return new Promise<void>((resolve, reject) => {
      // Built key by key: a spread adding the callbacks would give every write a shape of its own (core/objects.ts).
      const queued: WriteItem = { appends: item.appends, joined: item.joined, resolve, reject };
      if (item.position) queued.position = item.position;
      if (item.park) queued.park = item.park;
      if (item.appends.length === 1 && item.joined.length === 0 && !item.position) {
        const append = item.appends[0]!;
        let q = this.publishes.get(append.topic);
        if (!q) this.publishes.set(append.topic, (q = { items: new Fifo(), bytes: 0 }));
        // Waiting is bounded too: past a tenth of the bound's records, or its bytes, a publish is
        // refused (the broker then closes the connection unacknowledged, and the device sends it
        // again later). Held in memory as objects, a waiting publish costs several times its bytes.
        const waiting = q.items.length;
        if (waiting > 0 && (waiting >= this.maxWaitingPublishes || q.bytes + append.bytes > this.maxPendingBytes)) {
          reject(new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', `${waiting} publishes to ${append.topic} already wait for room in the log`]));
          return;
        }
        q.items.push(queued);
        q.bytes += append.bytes;
        this.waitingPublishes++;
      } else {
        this.queue.push(queued);
      }
      this.schedule(true, item.appends.some((a) => this.immediateTopics.has(a.topic)));
    });
  }

  /** `now`: the turn runs on the next check phase even within the commit gap (immediateTopics). */
  private schedule(soon: boolean, now = false): void {
    if (this.closed && !this.database.open) return;
    if (soon) {
      if (this.soon && (this.soon.immediate || !now)) return;
      this.soon?.cancel();
      const run = (): void => {
        this.soon = undefined;
        this.turn();
      };
      const wait = now ? 0 : this.lastCommitAt + (this.opts.commitGapMs ?? DEFAULT_COMMIT_GAP_MS) - performance.now();
      if (wait > 0) {
        const timer = setTimeout(run, wait);
        this.soon = { cancel: () => clearTimeout(timer), immediate: false };
      } else {
        const immediate = setImmediate(run);
        this.soon = { cancel: () => clearImmediate(immediate), immediate: true };
      }
    } else {
      this.later ??= setTimeout(() => {
        this.later = undefined;
        this.turn(true);
      }, this.commitIntervalMs);
    }
  }

  /** `allPositions`: every moved position is committed, however recently it moved. */
  private turn(allPositions = false): void {
    if (!this.database.open) {
      const closed = new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']);
      for (const item of this.queue.splice(0)) item.reject(closed);
      for (const q of this.publishes.values()) for (const item of q.items.drain()) item.reject(closed);
      this.publishes.clear();
      this.waitingPublishes = 0;
      return;
    }
    const ready = this.admit();
    // A position moved without a write of its own waits for a later turn while it is recent:
    // written with every turn, a few groups' positions cost a row each, hundreds of times a second.
    const positions: LogConsumer[] = [];
    const due = performance.now() - this.commitIntervalMs / 2;
    for (const [c, since] of this.dirty) {
      if (c.position <= c.persisted) this.dirty.delete(c);
      else if (allPositions || this.closed || since <= due) {
        positions.push(c);
        this.dirty.delete(c);
      }
    }
    if (this.dirty.size > 0) this.schedule(false);
    if (ready.length === 0 && positions.length === 0 && !this.prunable(positions)) return;
    this.lastCommitAt = performance.now();
    const now = this.now();
    const prunes: [TopicLog, number][] = [];
    for (const t of this.topics.values()) t.staged = t.next;
    try {
      this.turnTx(ready, positions, now, prunes);
    } catch (err) {
      // The commit failed: nothing of this turn happened. Positions are tried again next turn.
      for (const c of positions) this.dirty.set(c, Number.NEGATIVE_INFINITY);
      for (const item of ready) item.reject(err);
      this.schedule(false);
      return;
    }
    for (const c of positions) c.persisted = Math.max(c.persisted, c.position);
    for (const [t, to] of prunes) t.first = to;
    const appendedTo = new Set<TopicLog>();
    for (const t of this.topics.values()) {
      if (t.staged === t.next) continue;
      t.next = t.staged;
      appendedTo.add(t);
    }
    for (const item of ready) {
      if (!item.entries) {
        item.reject(item.failed);
        continue;
      }
      item.appends.forEach((a, k) => {
        const t = this.topics.get(a.topic)!;
        // Nobody here to take them: the table holds them for whoever comes.
        if (t.consumers.size === 0) return;
        for (const e of item.entries![k]!) t.entries.push(e);
        t.tailBytes += a.bytes;
      });
      if (item.position) {
        const { consumer, position } = item.position;
        consumer.position = Math.max(consumer.position, position);
        consumer.persisted = Math.max(consumer.persisted, position);
        trim(consumer.topic);
      }
      item.resolve();
    }
    for (const t of appendedTo) {
      if (t.consumers.size === 0) trim(t);
      for (const w of t.waiters.splice(0)) w();
    }
    if (this.queue.length > 0 || this.waitingPublishes > 0) this.schedule(ready.length > 0);
  }

  /** The body of a turn's transaction. */
  private writeTurn(ready: WriteItem[], positions: LogConsumer[], now: number, prunes: [TopicLog, number][]): void {
    for (const c of positions) this.store.setPosition(c.topic.name, c.group, c.position, now);
    const rows = new TurnRows(this.store, now);
    for (const item of ready) {
      // Publishes fail only with the whole transaction, and share rows; an item with writes of
      // its own or a park may fail alone (a constraint), in a savepoint, without taking the turn
      // with it, so its records are rows of their own inside it.
      if (item.joined.length === 0 && !item.park) {
        this.apply(item, now, rows);
        continue;
      }
      rows.flush();
      const staged = item.appends.map((a) => this.topics.get(a.topic)!.staged);
      try {
        this.itemTx(item, now);
      } catch (err) {
        item.appends.forEach((a, k) => (this.topics.get(a.topic)!.staged = staged[k]!));
        item.entries = undefined;
        item.failed = err;
      }
    }
    rows.flush();
    // Pruning rides along: a little with each commit, as much as was appended and more.
    for (const t of this.topics.values()) {
      const to = Math.min(this.prunePoint(t, positions), t.first + Math.max(2 * (t.staged - t.next), 1_000));
      if (to > t.first) {
        this.store.prune(t.name, to);
        prunes.push([t, to]);
      }
    }
  }

  private prunable(positions: readonly LogConsumer[]): boolean {
    for (const t of this.topics.values()) if (this.prunePoint(t, positions) > t.first) return true;
    return false;
  }

  /**
   * Takes the writes that fit the bound, in order: first the general queue, where one that does
   * not fit holds back later ones of its topics; then each topic's publishes from its head, up to
   * the first that does not fit.
   */
  private admit(): WriteItem[] {
    const ready: WriteItem[] = [];
    const waiting: WriteItem[] = [];
    let blocked: Set<BusTopic> | undefined;
    // What each topic holds that its groups have not taken, and what this turn adds.
    const held = new Map<BusTopic, { records: number; bytes: number }>();
    const load = (topic: BusTopic): { records: number; bytes: number } => {
      let h = held.get(topic);
      if (!h) {
        const t = this.topics.get(topic)!;
        held.set(topic, (h = { records: pending(t), bytes: t.tailBytes }));
      }
      return h;
    };
    // An empty backlog takes any publish, however large: it could never fit otherwise.
    const fits = (a: Append): boolean => {
      if (this.closed) return true;
      const h = load(a.topic);
      return h.records === 0 || (h.records + a.records.length <= this.maxPendingRecords && h.bytes + a.bytes <= this.maxPendingBytes);
    };
    const take = (a: Append): void => {
      const h = load(a.topic);
      h.records += a.records.length;
      h.bytes += a.bytes;
    };
    for (const item of this.queue) {
      if (item.appends.some((a) => blocked?.has(a.topic) || !fits(a))) {
        waiting.push(item);
        for (const a of item.appends) (blocked ??= new Set()).add(a.topic);
        continue;
      }
      for (const a of item.appends) take(a);
      ready.push(item);
    }
    this.queue = waiting;
    for (const [topic, q] of this.publishes) {
      if (blocked?.has(topic)) continue;
      for (let item = q.items.peek(); item && fits(item.appends[0]!); item = q.items.peek()) {
        q.items.shift();
        take(item.appends[0]!);
        ready.push(item);
        q.bytes -= item.appends[0]!.bytes;
        this.waitingPublishes--;
      }
    }
    return ready;
  }

  /** An item's writes; its records go to `rows` when given, else each append is a row now. */
  private apply(item: WriteItem, now: number, rows?: TurnRows): void {
    for (const write of item.joined) write();
    const entries: Entry[][] = [];
    for (const a of item.appends) {
      const t = this.topics.get(a.topic)!;
      const n = a.records.length;
      // After the item's own writes: records they stored are kept as their row ids.
      const encoded = encodedAppend(a, this.stored[a.topic]);
      if (rows) rows.add(a.topic, t.staged, encoded);
      else this.store.append(a.topic, t.staged, [encoded], now);
      // The append's bytes shared among its records, to the byte (the bound counts them back as they go).
      const each = Math.floor(a.bytes / n);
      const out: Entry[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = { seq: t.staged++, record: a.records[i]!, bytes: i === n - 1 ? a.bytes - each * (n - 1) : each };
      entries.push(out);
    }
    if (item.position) {
      const { consumer, position } = item.position;
      if (item.park) {
        const p = item.park;
        this.store.park({ id: p.id, topic: consumer.topic.name, group: consumer.group, seq: p.seq, record: p.record, code: p.code, message: p.message, attempts: p.attempts, at: now });
      }
      this.store.setPosition(consumer.topic.name, consumer.group, position, now);
    }
    item.entries = entries;
  }

  // ---------------------------------------------------------------------------------------
  // The bound, the tail in memory, pruning

  /** A group's position moved (or a group left): memory may shrink and waiting publishes fit. */
  private moved(t: TopicLog): void {
    trim(t);
    this.schedule(this.queue.length > 0 || this.waitingPublishes > 0);
  }

  /**
   * Below what the table may be pruned: what every group has committed. An absent group counts
   * only within the bound behind the end; a subscribed one by what it has written to the table.
   */
  private prunePoint(t: TopicLog, committing: readonly LogConsumer[]): number {
    let point = t.next;
    for (const c of t.consumers.values()) point = Math.min(point, committing.includes(c) ? c.position : c.persisted);
    for (const position of t.absent.values()) point = Math.min(point, Math.max(position, t.next - this.maxPendingRecords));
    return point;
  }

  private maintain(): void {
    if (!this.database.open) return;
    const now = this.now();
    const retention = this.opts.groupRetentionMs ?? DEFAULT_GROUP_RETENTION_MS;
    const refresh = now - this.seenRefreshedAt >= Math.min(retention / 10, SEEN_REFRESH_MS);
    if (refresh) this.seenRefreshedAt = now;
    this.database.transaction(() => {
      // A subscribed group is seen: refreshing its time keeps it from being forgotten.
      if (refresh) for (const t of this.topics.values()) for (const c of t.consumers.values()) this.store.setPosition(t.name, c.group, c.persisted, now);
      if (this.store.dropGroupsSeenBefore(now - retention) > 0) {
        for (const t of this.topics.values()) {
          const known = new Set(this.store.groups(t.name).map((g) => g.group));
          for (const g of t.absent.keys()) if (!known.has(g)) t.absent.delete(g);
        }
      }
      this.store.pruneParked(now - (this.opts.parkedRetentionMs ?? DEFAULT_PARKED_RETENTION_MS), this.opts.maxParked ?? DEFAULT_MAX_PARKED);
    })();
    this.schedule(true);
    for (const t of this.topics.values()) this.opts.onBacklog?.(t.name, pending(t), t.tailBytes);
  }
}

/** The rows of a turn: consecutive appends to a topic share one until it is full. */
class TurnRows {
  private readonly open = new Map<BusTopic, { seq: number; parts: EncodedRecords[]; count: number; bytes: number }>();

  constructor(
    private readonly store: LogStore,
    private readonly at: number,
  ) {}

  add(topic: BusTopic, seq: number, records: EncodedRecords): void {
    let row = this.open.get(topic);
    if (row && row.seq + row.count !== seq) {
      this.write(topic, row);
      row = undefined;
    }
    if (!row) this.open.set(topic, (row = { seq, parts: [], count: 0, bytes: 0 }));
    row.parts.push(records);
    row.count += records.count;
    row.bytes += records.bytes;
    if (row.count >= ROW_MAX_RECORDS || row.bytes >= ROW_MAX_BYTES) this.write(topic, row);
  }

  flush(): void {
    for (const [topic, row] of this.open) this.write(topic, row);
  }

  private write(topic: BusTopic, row: { seq: number; parts: EncodedRecords[] }): void {
    this.open.delete(topic);
    this.store.append(topic, row.seq, row.parts, this.at);
  }
}
