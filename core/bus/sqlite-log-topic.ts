/**
 * A topic of the embedded log as the bus holds it in memory: the records not yet taken by every
 * subscribed group (the tail), its consumer groups, and the writes that carry records to it.
 */
import type { BatchContext, BatchHandler, BusRecord, BusTopic, BusTopics } from '../ports.js';
import type { RawPublish } from '../schemas.js';
import { RECORD_OVERHEAD_BYTES, encodeRecords, type EncodedRecord, type EncodedRecords, type StoredRecords } from './sqlite-log-store.js';

export interface Entry {
  seq: number;
  record: BusRecord<unknown>;
  bytes: number;
}

export interface TopicLog {
  name: BusTopic;
  /** The seq the next append gets. */
  next: number;
  /** The same within a turn's transaction, before it commits. */
  staged: number;
  /** The oldest seq the table holds (next when empty). */
  first: number;
  /** Records from `tailStart` to `next`, in memory: entries[head...]. */
  entries: Entry[];
  head: number;
  tailBytes: number;
  consumers: Map<string, LogConsumer>;
  /** Groups with a committed position and no subscriber here: their position. */
  absent: Map<string, number>;
  /** Consumers waiting for an append. */
  waiters: (() => void)[];
}

export interface Append {
  topic: BusTopic;
  /**
   * The records as the table keeps them. Undefined until the commit for records a store may
   * write in it (StoredRecords): they are encoded after the batch's own writes, as row ids.
   */
  encoded: EncodedRecords | undefined;
  records: BusRecord<unknown>[];
  /** What the records count toward the bound: their encoded bytes, or an estimate until encoded. */
  bytes: number;
}

export interface WriteItem {
  appends: Append[];
  joined: (() => void)[];
  position?: { consumer: LogConsumer; position: number };
  park?: { id: string; seq: number; record: EncodedRecord; code: string; message: string; attempts: number };
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Set in the turn that writes it: the entries of each append, or why the item failed. */
  entries?: Entry[][] | undefined;
  failed?: unknown;
}

export class LogConsumer {
  /** The seq of the next record to take; what the group has committed, in memory. */
  position: number;
  /** The position last written to the database. */
  persisted: number;
  closing = false;
  running: Promise<void> = Promise.resolve();
  private cancelSleep: (() => void) | undefined;
  wake: (() => void) | undefined;

  constructor(
    readonly topic: TopicLog,
    readonly group: string,
    readonly handler: BatchHandler<unknown>,
    readonly maxBatch: number,
    position: number,
  ) {
    this.position = position;
    this.persisted = position;
  }

  sleep(ms: number): Promise<boolean> {
    if (this.closing) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.cancelSleep = undefined;
        resolve(!this.closing);
      }, ms);
      this.cancelSleep = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
  }

  stop(): void {
    this.closing = true;
    this.cancelSleep?.();
    this.wake?.();
  }
}

export function minPosition(t: TopicLog): number | undefined {
  let min: number | undefined;
  for (const c of t.consumers.values()) if (min === undefined || c.position < min) min = c.position;
  return min;
}

/** Records subscribed groups have not all taken. */
export function pending(t: TopicLog): number {
  const min = minPosition(t);
  return min === undefined ? 0 : t.next - min;
}

/** The seq of the oldest record held in memory (`next` when none is). */
export function tailStart(t: TopicLog): number {
  return t.head < t.entries.length ? t.entries[t.head]!.seq : t.next;
}

/**
 * Drops from memory what every subscribed group has taken. A taken slot is cleared at once: under
 * a steady load the tail is rarely empty, and slots kept until the list is cut held a second of
 * records past their use, long enough to be promoted to the old generation and collected there.
 */
export function trim(t: TopicLog): void {
  const to = minPosition(t) ?? t.next;
  while (t.head < t.entries.length && t.entries[t.head]!.seq < to) {
    t.tailBytes -= t.entries[t.head]!.bytes;
    (t.entries as (Entry | undefined)[])[t.head] = undefined;
    t.head++;
  }
  if (t.head === t.entries.length) {
    t.entries = [];
    t.head = 0;
  } else if (t.head > 4096 && t.head * 2 > t.entries.length) {
    t.entries = t.entries.slice(t.head);
    t.head = 0;
  }
}

/** A batch's publishes and joined writes, committed with its position, and what runs after. */
export class LogBatch implements BatchContext {
  readonly appends: WriteItem['appends'] = [];
  readonly joined: (() => void)[] = [];
  readonly after: (() => void | Promise<void>)[] = [];

  constructor(
    private readonly database: object,
    private readonly stored: Partial<Record<BusTopic, StoredRecords>>,
  ) {}

  publish<K extends BusTopic>(topic: K, records: BusRecord<BusTopics[K]>[]): void {
    if (records.length === 0) return;
    const stored = this.stored[topic];
    this.appends.push(stored ? deferredAppend(topic, records, stored) : encodeAppend(topic, records));
  }

  joinCommit(database: object, write: () => void): boolean {
    if (database !== this.database) return false;
    this.joined.push(write);
    return true;
  }

  afterCommit(then: () => void | Promise<void>): void {
    this.after.push(then);
  }
}

export function encodeAppend(topic: BusTopic, records: BusRecord<unknown>[]): Append {
  const owned = topic === 'sw.raw' ? records.map(ownPayload) : records;
  const encoded = encodeRecords(topic, owned);
  return { topic, encoded, records: owned, bytes: encoded.bytes };
}

/** A batch's append of records a store may write in the batch's commit: encoded then (encodedAppend). */
function deferredAppend(topic: BusTopic, records: BusRecord<unknown>[], stored: StoredRecords): Append {
  let bytes = 0;
  for (const r of records) bytes += r.key.length + stored.estimateBytes(r.value) + RECORD_OVERHEAD_BYTES;
  return { topic, encoded: undefined, records, bytes };
}

/** The append as the table keeps it, encoding it now if it was deferred (inside the commit, after the batch's writes). */
export function encodedAppend(a: Append, stored: StoredRecords | undefined): EncodedRecords {
  return (a.encoded ??= encodeRecords(a.topic, a.records, stored));
}

/**
 * A raw publish whose payload owns its bytes. The MQTT parser hands out payloads as views of the
 * socket read they came in, up to 64 KiB holding hundreds of publishes: one publish held in the
 * log's memory (or waiting for room in it) would keep the whole read alive.
 */
function ownPayload(record: BusRecord<unknown>): BusRecord<unknown> {
  const raw = record.value as RawPublish;
  if (raw.payload.byteLength === raw.payload.buffer.byteLength) return record;
  return { key: record.key, value: { ...raw, payload: Buffer.from(raw.payload) } };
}
