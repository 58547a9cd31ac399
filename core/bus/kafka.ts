/**
 * The distributed bus on Kafka (kafkajs). Topics are the bus topics (with the namespace in
 * front), keyed as ARCHITECTURE.md says so each device's records stay in one partition, in
 * order. One consumer group per stage and topic (see groupName); more members of a group split
 * its partitions.
 *
 * Producing: kafkajs sends every `send` call as its own request and has no linger, so records
 * are queued here and sent with `sendBatch`, one request in flight: while a request is on the
 * wire the next batch fills up, which batches under load without delaying a lone record.
 * `publish` resolves when Kafka acknowledged the records with acks=-1 (all in-sync replicas).
 *
 * Consuming: `eachBatch` without auto-resolve. A record's offset is resolved only after the
 * handler's promise for it resolved, i.e. after its side effects are durable, so a crash at any
 * point replays records and never skips one. A failing handler gets the same records again
 * after a backoff, in place, while the member keeps its heartbeat. Closing finishes the batch
 * in hand, commits, leaves the group and disconnects (SIGTERM drain).
 */
import {
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
  type LogEntry,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import { errorMessage, unavailable } from '../connect-retry.js';
import { StreetWatchError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  BUS_TOPICS,
  type BatchContext,
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
import { deliver, failurePolicy, RETRY_BACKOFF_MS, type FailureKind, type FailurePolicy } from './failure-policy.js';
import { decodeRecord, encodeRecord, UndecodableMessage, type EncodedMessage } from './kafka-codec.js';
import { KafkaParking, PARKED_TOPIC } from './kafka-parked.js';

/** Records handed to a handler at once unless the subscriber asks otherwise (as the memory bus). */
export const DEFAULT_MAX_BATCH = 1000;
/** Most records in one produce request. */
export const DEFAULT_PRODUCE_BATCH = 5000;
/**
 * Most bytes (keys, values, headers) in one produce request: under the broker's default
 * `message.max.bytes` (1 MiB per record batch), which a single partition's share of a request
 * must respect. A larger publish is sent in several requests.
 */
export const DEFAULT_PRODUCE_BYTES = 768 * 1024;
/** How long a lone record waits for company before it is sent; 0 means the next event-loop turn. */
export const DEFAULT_LINGER_MS = 0;
/**
 * A member silent this long is dropped from its group and its partitions reassigned: how long
 * the partitions of a crashed process wait. kafkajs' 30 s default is tuned for long GC pauses;
 * Node handlers here yield often, and the brokers' minimum is 6 s.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
/** How often a member proves it is alive, also while a handler runs. */
export const DEFAULT_HEARTBEAT_MS = 3_000;
/** How long an idle fetch waits on the broker: bounds how long a drain waits for an empty poll. */
export const DEFAULT_MAX_WAIT_MS = 500;
/** Resolved offsets are committed at least this often inside a long batch (and at its end). */
export const DEFAULT_COMMIT_INTERVAL_MS = 1_000;
/** How long new bus topics may take to get partition leaders before connecting fails (and is retried). */
export const DEFAULT_TOPICS_READY_MS = 30_000;
/**
 * Protocol errors a produce request gets for what it carries, not for the state of the cluster:
 * sending the same records again fails the same way (a ticket over the broker's record limit).
 */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** How the brokers name this client. Default DEFAULT_KAFKA_CLIENT_ID of core/config.ts, `streetwatch`. */
  clientId?: string;
  /** Prefix of every topic and consumer group name. Default ''. */
  namespace?: string;
  logger: Logger;
  /** Called when a handler (or a publish of its batch) fails; the batch is then retried or its record parked. */
  onHandlerError?: (topic: BusTopic, group: string, err: unknown, kind: FailureKind) => void;
  /** Called after a handler succeeded, with the number of records it handled and the seconds from its start to its records published. */
  onHandled?: (topic: BusTopic, group: string, count: number, seconds: number) => void;
  /** Called when a record is parked on `sw.parked`. */
  onParked?: (topic: BusTopic, group: string, code: string) => void;
  /** Retries and parking (core/bus/failure-policy.ts). */
  failure?: Partial<FailurePolicy>;
  /** How long `sw.parked` keeps a record (its `retention.ms`). Default DEFAULT_PARKED_RETENTION_MS of kafka-parked.ts. */
  parkedRetentionMs?: number;
  /** Most records in one produce request. Default DEFAULT_PRODUCE_BATCH. */
  produceBatch?: number;
  /** Most value bytes in one produce request. Default DEFAULT_PRODUCE_BYTES. */
  produceBytes?: number;
  /** Default DEFAULT_LINGER_MS. */
  lingerMs?: number;
  /** Partitions of the topics this bus creates when they are missing. Default: the broker's `num.partitions`. */
  partitions?: number;
  /** Default DEFAULT_SESSION_TIMEOUT_MS. */
  sessionTimeoutMs?: number;
  /** Default DEFAULT_HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** Default DEFAULT_MAX_WAIT_MS. */
  maxWaitMs?: number;
  /**
   * Partitions one member hands to its handler at the same time. Default 1: a subscription's
   * handler is never called concurrently, as on the memory bus.
   */
  partitionsConsumedConcurrently?: number;
}

/** A record's size in a request: key, value, headers, and the record's own framing. */
function messageBytes(m: EncodedMessage): number {
  let bytes = Buffer.byteLength(m.key) + (typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length) + RECORD_OVERHEAD_BYTES;
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  return bytes;
}

/** Upper bound of a record's framing in a record batch (varint lengths, offset and time deltas). */
const RECORD_OVERHEAD_BYTES = 24;

interface QueuedPublish {
  topic: string;
  messages: EncodedMessage[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class KafkaBus implements Bus {
  /** `host:port,...`, for logs and errors. */
  readonly target: string;
  private readonly kafka: Kafka;
  private readonly namespace: string;
  private readonly log: Logger;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** Subscriptions made before connect() succeeded, started by it. */
  private deferred: KafkaSubscription[] = [];
  private queue: QueuedPublish[] = [];
  private queuedMessages = 0;
  private queuedBytes = 0;
  private sending: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private connected = false;
  private closed = false;
  private readonly policy: FailurePolicy;
  private readonly parking: KafkaParking;

  constructor(private readonly opts: KafkaBusOptions) {
    this.namespace = opts.namespace ?? '';
    this.target = opts.brokers.join(',');
    this.log = opts.logger.child({ component: 'kafka' });
    const client = {
      clientId: opts.clientId ?? 'streetwatch',
      brokers: opts.brokers,
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry: LogEntry) => this.kafkaLog(entry),
    };
    this.kafka = new Kafka({ ...client, retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 10_000 } });
    this.producer = this.kafka.producer({
      // The Java client's partitioner: other Kafka clients put a key on the same partition.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    // The admin client makes the first contact without retries of its own: connectWithRetry
    // paces the attempts and reports each one, naming the brokers.
    this.admin = new Kafka({ ...client, retry: { retries: 0 } }).admin();
    this.policy = failurePolicy(opts.failure);
    this.parking = new KafkaParking({
      kafka: this.kafka,
      topic: this.namespace + PARKED_TOPIC,
      groupPrefix: this.namespace,
      retentionMs: opts.parkedRetentionMs,
      produce: (messages) => this.produce(this.namespace + PARKED_TOPIC, messages),
      republish: (topic, message) => this.produce(this.topicName(topic), [message]),
    });
  }

  /** The Kafka topic of a bus topic. */
  topicName(topic: BusTopic): string {
    return this.namespace + topic;
  }

  /**
   * The Kafka consumer group of a bus group on a topic. Bus groups are per topic (the detectors
   * consume `sw.readings` and `sw.events` as group `detectors`); a Kafka group spans topics, and
   * one that mixes members of different subscriptions would be handed partitions of topics a
   * member does not consume. So each (group, topic) is a Kafka group: `detectors.sw.readings`.
   */
  groupName(topic: BusTopic, group: string): string {
    return `${this.namespace}${group}.${topic}`;
  }

  /**
   * Connects the producer and creates the bus topics that are missing. Rejects when Kafka
   * cannot be reached; the caller retries (connectWithRetry).
   */
  async connect(): Promise<void> {
    if (this.closed) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']);
    try {
      await this.admin.connect();
      const topics = [...BUS_TOPICS.map((t) => this.topicName(t)), this.parking.topic];
      const existing = new Set(await this.admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length > 0) {
        // createTopics answers TOPIC_ALREADY_EXISTS, without waiting, when another process
        // created them a moment ago: waitForTopics below covers both cases.
        const created = await this.admin.createTopics({
          waitForLeaders: false,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: this.opts.partitions ?? -1,
            replicationFactor: -1,
            ...(topic === this.parking.topic ? { configEntries: this.parking.topicConfig() } : {}),
          })),
        });
        if (created) this.log.info({ topics: missing }, 'created bus topics');
      }
      await this.waitForTopics(topics);
      await this.producer.connect();
      this.connected = true;
      while (this.deferred.length > 0) {
        await this.deferred[0]!.start();
        this.deferred.shift();
      }
    } catch (err) {
      this.connected = false;
      await Promise.allSettled([this.admin.disconnect(), this.producer.disconnect()]);
      throw unavailable(`Kafka at ${this.target}`, err);
    }
  }

  /**
   * Waits until every partition of the topics is served by its leader. A topic the controller
   * just created reaches the brokers a little later: first its metadata, then the partitions
   * themselves. Until then a consumer fails to subscribe (UNKNOWN_TOPIC_OR_PARTITION), or joins
   * and gets NOT_LEADER_OR_FOLLOWER from its first fetches, on which kafkajs rejoins its group
   * again and again; after such a storm a member was seen to sit on its partitions without
   * fetching. Asking each leader for the partitions' offsets proves they are online.
   */
  private async waitForTopics(topics: string[]): Promise<void> {
    const deadline = Date.now() + DEFAULT_TOPICS_READY_MS;
    for (;;) {
      try {
        const meta = await this.admin.fetchTopicMetadata({ topics });
        const led = meta.topics.length === topics.length && meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        if (led) {
          for (const topic of topics) await this.admin.fetchTopicOffsets(topic);
          return;
        }
      } catch (err) {
        // Retriable protocol errors (unknown topic, no leader yet, not the leader yet) are the
        // states a new topic passes through; anything else is a real failure.
        if ((err as { retriable?: boolean }).retriable !== true) throw err;
      }
      if (Date.now() > deadline) throw new Error(`the bus topics are not served after ${DEFAULT_TOPICS_READY_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  isConnected(): boolean {
    return this.connected && !this.closed;
  }

  publish<K extends BusTopic>(topic: K, records: BusRecord<BusTopics[K]>[]): Promise<void> {
    if (records.length === 0 && !this.closed) return Promise.resolve();
    let messages: EncodedMessage[];
    try {
      messages = records.map((r) => encodeRecord(topic, r));
    } catch (err) {
      return Promise.reject(err);
    }
    return this.produce(this.topicName(topic), messages);
  }

  async listParked(filter: ParkedFilter = {}): Promise<ParkedRecord[]> {
    this.usable();
    return this.parking.list(filter);
  }

  async replayParked(id: string): Promise<ParkedRecord | undefined> {
    this.usable();
    return this.parking.replay(id);
  }

  private usable(): void {
    if (this.closed) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']);
    if (!this.connected) throw new StreetWatchError('SW_ERR_UNAVAILABLE', [`Kafka at ${this.target}`, 'not connected yet']);
  }

  /** Queues encoded messages for a Kafka topic; resolves once Kafka acknowledged all of them. */
  private produce(kafkaTopic: string, messages: EncodedMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']));
    if (!this.connected) return Promise.reject(new StreetWatchError('SW_ERR_UNAVAILABLE', [`Kafka at ${this.target}`, 'not connected yet']));
    if (messages.length === 0) return Promise.resolve();
    const chunks = this.chunk(messages);
    const sent = chunks.map(
      ({ messages, bytes }) =>
        new Promise<void>((resolve, reject) => {
          this.queue.push({ topic: kafkaTopic, messages, bytes, resolve, reject });
          this.queuedMessages += messages.length;
          this.queuedBytes += bytes;
        }),
    );
    this.scheduleFlush();
    return sent.length === 1 ? sent[0]! : Promise.all(sent).then(() => undefined);
  }

  /**
   * Cuts one publish into pieces that each fit one produce request. A consumer of sw.raw hands
   * on thousands of readings at once, and the broker refuses a record batch over its
   * `message.max.bytes` with an error no retry can cure. The publish settles when every piece
   * is written; a piece that fails rejects it, and the caller's redelivery repeats the pieces
   * already written (at least once, as the bus promises).
   */
  private chunk(messages: EncodedMessage[]): { messages: EncodedMessage[]; bytes: number }[] {
    const maxMessages = this.opts.produceBatch ?? DEFAULT_PRODUCE_BATCH;
    const maxBytes = this.opts.produceBytes ?? DEFAULT_PRODUCE_BYTES;
    const chunks: { messages: EncodedMessage[]; bytes: number }[] = [];
    let current: { messages: EncodedMessage[]; bytes: number } = { messages: [], bytes: 0 };
    for (const m of messages) {
      const size = messageBytes(m);
      if (current.messages.length > 0 && (current.messages.length >= maxMessages || current.bytes + size > maxBytes)) {
        chunks.push(current);
        current = { messages: [], bytes: 0 };
      }
      current.messages.push(m);
      current.bytes += size;
    }
    chunks.push(current);
    return chunks;
  }

  private scheduleFlush(): void {
    if (this.sending || this.flushTimer) return;
    const full = this.queuedMessages >= (this.opts.produceBatch ?? DEFAULT_PRODUCE_BATCH) || this.queuedBytes >= (this.opts.produceBytes ?? DEFAULT_PRODUCE_BYTES);
    const linger = this.opts.lingerMs ?? DEFAULT_LINGER_MS;
    if (full) this.startSending();
    else if (linger > 0) this.flushTimer = setTimeout(() => this.startSending(), linger);
    // One turn of the event loop lets publishes made by the same I/O callbacks share a request.
    else this.flushTimer = setImmediate(() => this.startSending());
  }

  private startSending(): void {
    this.flushTimer = undefined;
    if (this.sending) return;
    this.sending = this.sendLoop().finally(() => {
      this.sending = undefined;
      if (this.queue.length > 0) this.scheduleFlush();
    });
  }

  private async sendLoop(): Promise<void> {
    const maxMessages = this.opts.produceBatch ?? DEFAULT_PRODUCE_BATCH;
    const maxBytes = this.opts.produceBytes ?? DEFAULT_PRODUCE_BYTES;
    while (this.queue.length > 0) {
      // Whole publishes only, so each caller's promise settles with one request's outcome.
      const batch: QueuedPublish[] = [];
      let n = 0;
      let bytes = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (batch.length > 0 && (n + next.messages.length > maxMessages || bytes + next.bytes > maxBytes)) break;
        batch.push(this.queue.shift()!);
        n += next.messages.length;
        bytes += next.bytes;
      }
      this.queuedMessages -= n;
      this.queuedBytes -= bytes;
      const byTopic = new Map<string, TopicMessages>();
      for (const p of batch) {
        let tm = byTopic.get(p.topic);
        if (!tm) byTopic.set(p.topic, (tm = { topic: p.topic, messages: [] }));
        for (const m of p.messages) tm.messages.push(m);
      }
      try {
        await this.producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
        for (const p of batch) p.resolve();
      } catch (err) {
        const e = this.produceFailure(err);
        for (const p of batch) p.reject(e);
      }
    }
  }

  /**
   * What a failed produce request means for the records in it: an error about the records
   * themselves is not retriable (they are parked by the consumer that published them), anything
   * else says Kafka is unavailable.
   */
  private produceFailure(err: unknown): StreetWatchError {
    for (let e: unknown = err; e; e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause) {
      const type = (e as { type?: unknown }).type;
      if (typeof type === 'string' && RECORD_ERRORS.has(type)) {
        return new StreetWatchError('SW_ERR_INTERNAL', [`Kafka at ${this.target} refused the records (${type}): ${errorMessage(e)}`], { cause: err });
      }
    }
    return unavailable(`Kafka at ${this.target}`, err);
  }

  async subscribe<K extends BusTopic>(topic: K, group: string, handler: BatchHandler<BusTopics[K]>, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (this.closed) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']);
    const sub = new KafkaSubscription(this.kafka, {
      topic,
      kafkaTopic: this.topicName(topic),
      group,
      groupId: this.groupName(topic, group),
      handler: handler as BatchHandler<unknown>,
      maxBatch: opts.maxBatch ?? DEFAULT_MAX_BATCH,
      from: opts.from ?? 'earliest',
      bus: this.opts,
      policy: this.policy,
      publish: (t, records) => this.publish(t, records),
      park: (p) => this.parking.park(p),
      log: this.log.child({ topic, group }),
      target: this.target,
    });
    this.subscriptions.add(sub);
    const handle: Subscription = {
      close: async () => {
        this.subscriptions.delete(sub);
        this.deferred = this.deferred.filter((d) => d !== sub);
        await sub.close();
      },
    };
    if (!this.connected) {
      // The API subscribes as it starts, which is before the services are reached (so that
      // /readyz answers meanwhile): its consumer starts once connect() has found the topics,
      // instead of failing on a topic another process is still creating, or on Kafka down.
      this.deferred.push(sub);
      return handle;
    }
    try {
      await sub.start();
    } catch (err) {
      this.subscriptions.delete(sub);
      await sub.close();
      throw err;
    }
    return handle;
  }

  /** Drains every subscription, sends what is queued, then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subs = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subs.map((s) => s.close()));
    if (this.flushTimer) {
      clearTimeout(this.flushTimer as NodeJS.Timeout);
      clearImmediate(this.flushTimer as NodeJS.Immediate);
      this.flushTimer = undefined;
    }
    if (this.queue.length > 0 && this.connected) this.startSending();
    await this.sending;
    for (const p of this.queue.splice(0)) p.reject(new StreetWatchError('SW_ERR_UNAVAILABLE', ['bus', 'closed']));
    this.connected = false;
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  private kafkaLog({ level, label, log }: LogEntry): void {
    const { message, timestamp: _t, logger: _l, ...extra } = log as typeof log & { logger?: string };
    // kafkajs reports every failed connection attempt, with a stack; those are said once per
    // attempt, naming the service, by connectWithRetry, failed publishes and consumer crashes.
    const connection = /^(Connection error|Failed to connect)/.test(message);
    if ((level === KafkaLogLevel.ERROR || level === KafkaLogLevel.WARN) && !connection) this.log.warn({ kafkajs: label, ...extra }, message);
    else this.log.debug({ kafkajs: label, ...extra }, message);
  }
}

interface SubscriptionSpec {
  topic: BusTopic;
  kafkaTopic: string;
  group: string;
  groupId: string;
  handler: BatchHandler<unknown>;
  maxBatch: number;
  from: 'earliest' | 'latest';
  bus: KafkaBusOptions;
  policy: FailurePolicy;
  publish: <K extends BusTopic>(topic: K, records: BusRecord<BusTopics[K]>[]) => Promise<void>;
  park: KafkaParking['park'];
  log: Logger;
  target: string;
}

/** A decoded record and where it is, or a message no code can read (parked as it is). */
interface Delivered {
  offset: string;
  message: KafkaMessage;
  record: BusRecord<unknown> | undefined;
  undecodable?: UndecodableMessage;
}

class KafkaSubscription {
  private consumer: Consumer;
  private closing = false;
  private closed: Promise<void> | undefined;
  /** The latest start of a `latest` subscription being committed (see pinStart). */
  private pinned: Promise<void> | undefined;
  private revivals = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly spec: SubscriptionSpec,
  ) {
    this.consumer = this.newConsumer();
  }

  private newConsumer(): Consumer {
    const { spec, kafka } = this;
    const { bus } = spec;
    const consumer = kafka.consumer({
      groupId: spec.groupId,
      sessionTimeout: bus.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      heartbeatInterval: bus.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      maxWaitTimeInMs: bus.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      spec.log.error({ err: payload.error, restart: payload.restart }, `consumer of ${spec.kafkaTopic} in group ${spec.groupId} crashed`);
      // kafkajs restarts a crashed consumer only when it deems the cause retriable; otherwise
      // the member stays out of its group for good while the process looks healthy, and its
      // partitions wait for a member that never comes. A subscription lives until closed.
      if (!payload.restart && consumer === this.consumer) this.revive();
    });
    if (spec.from === 'latest') {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const partitions = payload.memberAssignment[spec.kafkaTopic] ?? [];
        if (partitions.length > 0) this.pinned = this.pinStart(kafka, partitions);
      });
    }
    return consumer;
  }

  /** Starts a new consumer in place of one kafkajs gave up on, with backoff, until it runs. */
  private revive(): void {
    if (this.closing) return;
    const delay = Math.min(RETRY_BACKOFF_MS.min * 2 ** this.revivals++, RETRY_BACKOFF_MS.max);
    setTimeout(() => {
      if (this.closing) return;
      const dead = this.consumer;
      this.consumer = this.newConsumer();
      void dead.disconnect().catch(() => undefined);
      this.start().then(
        () => {
          this.revivals = 0;
          this.spec.log.warn(`consumer of ${this.spec.kafkaTopic} in group ${this.spec.groupId} started again`);
          if (this.closing) void this.consumer.disconnect().catch(() => undefined);
        },
        (err: unknown) => {
          this.spec.log.warn({ err }, 'consumer could not start again, retrying');
          this.revive();
        },
      );
    }, delay).unref();
  }

  /**
   * A group without committed offsets starts at the latest record each time it joins, and the
   * consumer rejoins after every crash (a Kafka restart): what was published between the
   * subscription and the rejoin would be skipped. So the position `latest` gave is committed
   * for each partition the group has no offset for, and a rejoin resumes from it.
   */
  private async pinStart(kafka: Kafka, partitions: number[]): Promise<void> {
    const { spec } = this;
    const admin = kafka.admin();
    try {
      await admin.connect();
      const [committed] = await admin.fetchOffsets({ groupId: spec.groupId, topics: [spec.kafkaTopic] });
      const unset = new Set(committed?.partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition) ?? partitions);
      const ends = await admin.fetchTopicOffsets(spec.kafkaTopic);
      const offsets = ends.filter((e) => partitions.includes(e.partition) && unset.has(e.partition)).map((e) => ({ topic: spec.kafkaTopic, partition: e.partition, offset: e.high }));
      if (offsets.length > 0 && !this.closing) await this.consumer.commitOffsets(offsets);
    } catch (err) {
      spec.log.warn({ err }, 'could not record the starting offsets of a live subscription');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async start(): Promise<void> {
    const { spec } = this;
    try {
      await this.consumer.connect();
      // A group without committed offsets starts at the oldest record unless asked otherwise: a
      // new stage (or a group whose offsets expired) processes what is retained instead of
      // silently skipping it.
      await this.consumer.subscribe({ topics: [spec.kafkaTopic], fromBeginning: spec.from === 'earliest' });
      // `latest` is taken when the group is joined: until then, publishes would not count as
      // before the subscription, so subscribe waits for it.
      const joined =
        spec.from === 'latest'
          ? new Promise<void>((resolve) => {
              const off = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
                off();
                resolve();
              });
            })
          : undefined;
      await this.consumer.run({
        autoCommit: true,
        autoCommitInterval: DEFAULT_COMMIT_INTERVAL_MS,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: spec.bus.partitionsConsumedConcurrently ?? 1,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      if (joined) {
        await Promise.race([joined, new Promise((r) => setTimeout(r, DEFAULT_SESSION_TIMEOUT_MS).unref())]);
        await this.pinned;
      }
    } catch (err) {
      throw unavailable(`Kafka at ${spec.target}`, err);
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { spec } = this;
    // Another member owns the partition now, or we are draining: stop before the next chunk.
    const live = (): boolean => isRunning() && !isStale() && !this.closing;
    const interval = spec.bus.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const messages = batch.messages;
    for (let i = 0; i < messages.length && live(); ) {
      const chunk = messages.slice(i, i + spec.maxBatch).map((m) => this.decode(m));
      const done = await deliver(chunk, spec.policy, {
        process: async (items) => {
          const readable = items.filter((d) => d.record !== undefined);
          const unreadable = items.find((d) => d.undecodable);
          // No code can read it: it is parked as it is, never retried (SW_ERR_INTERNAL is not retriable).
          if (unreadable) throw new StreetWatchError('SW_ERR_INTERNAL', [`undecodable message: ${unreadable.undecodable!.message}`], { cause: unreadable.undecodable });
          if (readable.length > 0) {
            // A slow handler (a store catching up) must not cost the member its partitions.
            const ticker = setInterval(() => void heartbeat().catch(() => undefined), interval);
            const started = performance.now();
            try {
              const context = new KafkaBatch();
              await spec.handler(
                readable.map((d) => d.record!),
                context,
              );
              await context.flush(spec.publish);
              await context.settle();
            } finally {
              clearInterval(ticker);
            }
            spec.bus.onHandled?.(spec.topic, spec.group, readable.length, (performance.now() - started) / 1000);
          }
          resolveOffset(items[items.length - 1]!.offset);
        },
        park: async (item, cause, attempts) => {
          const code = await spec.park({ topic: spec.topic, group: spec.group, partition: batch.partition, message: item.message, cause, attempts });
          spec.bus.onParked?.(spec.topic, spec.group, code);
          spec.log.warn({ partition: batch.partition, offset: item.offset, code, attempts }, 'record parked: the group moves on without it');
          resolveOffset(item.offset);
        },
        wait: async (ms) => {
          const until = Date.now() + ms;
          while (Date.now() < until) {
            if (!live()) return false;
            await new Promise((r) => setTimeout(r, Math.min(interval, until - Date.now(), 100)));
          }
          if (!live()) return false;
          await heartbeat();
          return true;
        },
        onError: (err, kind) => spec.bus.onHandlerError?.(spec.topic, spec.group, err, kind),
      });
      if (!done) return;
      i += chunk.length;
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  private decode(m: KafkaMessage): Delivered {
    try {
      return { offset: m.offset, message: m, record: decodeRecord(this.spec.topic, m) };
    } catch (err) {
      if (!(err instanceof UndecodableMessage)) throw err;
      return { offset: m.offset, message: m, record: undefined, undecodable: err };
    }
  }

  close(): Promise<void> {
    this.closing = true;
    // disconnect() stops the fetch loop, waits for the batch in hand, commits what it resolved,
    // leaves the group (its partitions move at once, not after a session timeout) and disconnects.
    return (this.closed ??= this.consumer.disconnect().catch((err: unknown) => {
      this.spec.log.warn({ err }, 'consumer did not disconnect cleanly');
    }));
  }
}


/** A batch's publishes on Kafka: sent, and acknowledged, before the batch's offset is resolved. */
class KafkaBatch implements BatchContext {
  private readonly pending: { topic: BusTopic; records: BusRecord<unknown>[] }[] = [];
  private readonly after: (() => void | Promise<void>)[] = [];

  publish<K extends BusTopic>(topic: K, records: BusRecord<BusTopics[K]>[]): void {
    if (records.length > 0) this.pending.push({ topic, records });
  }

  /** Kafka and the stores have no transaction in common: the caller writes by itself. */
  joinCommit(): boolean {
    return false;
  }

  afterCommit(then: () => void | Promise<void>): void {
    this.after.push(then);
  }

  async flush(publish: SubscriptionSpec['publish']): Promise<void> {
    await Promise.all(this.pending.map((p) => publish(p.topic, p.records as BusRecord<never>[])));
  }

  /** The batch's follow-ups, once its publishes are acknowledged; a failure fails the batch. */
  async settle(): Promise<void> {
    for (const then of this.after) await then();
  }
}
