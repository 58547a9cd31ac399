/**
 * Parked records on Kafka: the topic `sw.parked` (with the namespace in front), created with the
 * bus topics and a retention of its own. A parked record is the original message (key, value,
 * headers) with `sw-parked-*` headers saying where it came from, which group parked it, why and
 * when. Replaying one publishes the original message on its topic again and appends a marker
 * (`sw-replayed-id`), so the record shows as replayed. Listing reads the topic from its start
 * with a consumer of its own: parked records are few and kept a bounded time, and the admin asks
 * rarely.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { unavailable } from '../connect-retry.js';
import { BUS_TOPICS, type BusTopic, type ParkedFilter, type ParkedRecord } from '../ports.js';
import { parkedCause } from './failure-policy.js';
import { decodeRecord, type EncodedMessage } from './kafka-codec.js';

export const PARKED_TOPIC = 'sw.parked';
/** How long `sw.parked` keeps a record (the topic's `retention.ms`): as long as the embedded log keeps its parked records. */
export const DEFAULT_PARKED_RETENTION_MS = 7 * 24 * 3_600_000;
/** What one partition of `sw.parked` keeps at most (`retention.bytes`): a flood of bad records cannot fill the brokers' disks. */
export const DEFAULT_PARKED_RETENTION_BYTES = 256 * 1024 * 1024;
/** Most parked records one listing returns. */
export const MAX_PARKED_LIST = 1_000;
/** How long a listing may take to read the topic before it gives up. */
const SCAN_TIMEOUT_MS = 60_000;

const HEADERS = {
  id: 'sw-parked-id',
  topic: 'sw-parked-topic',
  group: 'sw-parked-group',
  code: 'sw-parked-code',
  message: 'sw-parked-message',
  attempts: 'sw-parked-attempts',
  at: 'sw-parked-at',
  replayedId: 'sw-replayed-id',
  replayedAt: 'sw-replayed-at',
} as const;
const OWN_HEADERS = new Set<string>(Object.values(HEADERS));

export interface ParkingOptions {
  kafka: Kafka;
  /** The Kafka topic of parked records, namespace included. */
  topic: string;
  /** Prefix of the consumer groups that read it (the namespace). */
  groupPrefix: string;
  retentionMs?: number | undefined;
  /** Sends messages to the parked topic; resolves when Kafka acknowledged them. */
  produce: (messages: EncodedMessage[]) => Promise<void>;
  /** Sends a message to a bus topic again. */
  republish: (topic: BusTopic, message: EncodedMessage) => Promise<void>;
}

export interface ParkRequest {
  topic: BusTopic;
  group: string;
  partition: number;
  message: KafkaMessage;
  cause: unknown;
  attempts: number;
}

export class KafkaParking {
  readonly topic: string;

  constructor(private readonly opts: ParkingOptions) {
    this.topic = opts.topic;
  }

  /** The topic's configuration when it is created. */
  topicConfig(): { name: string; value: string }[] {
    return [
      { name: 'retention.ms', value: String(this.opts.retentionMs ?? DEFAULT_PARKED_RETENTION_MS) },
      { name: 'retention.bytes', value: String(DEFAULT_PARKED_RETENTION_BYTES) },
    ];
  }

  /** Appends the record to the parked topic with its cause; resolves with the cause's code once Kafka has it. */
  async park(p: ParkRequest): Promise<string> {
    const { code, message } = parkedCause(p.cause);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.message.headers ?? {})) {
      const one = Array.isArray(v) ? v[0] : v;
      if (one !== undefined && !OWN_HEADERS.has(k)) headers[k] = one.toString();
    }
    Object.assign(headers, {
      [HEADERS.id]: randomUUID(),
      [HEADERS.topic]: p.topic,
      [HEADERS.group]: p.group,
      [HEADERS.code]: code,
      [HEADERS.message]: message,
      [HEADERS.attempts]: String(p.attempts),
      [HEADERS.at]: String(Date.now()),
    });
    await this.opts.produce([{ key: p.message.key?.toString('utf8') ?? '', value: p.message.value ?? Buffer.alloc(0), headers }]);
    return code;
  }

  async list(filter: ParkedFilter): Promise<ParkedRecord[]> {
    const limit = Math.min(filter.limit ?? MAX_PARKED_LIST, MAX_PARKED_LIST);
    return [...(await this.held()).values()]
      .map((h) => h.record)
      .filter((r) => (filter.topic === undefined || r.topic === filter.topic) && (filter.group === undefined || r.group === filter.group))
      .sort((a, b) => b.parkedAt - a.parkedAt || (a.id < b.id ? 1 : -1))
      .slice(0, limit);
  }

  async replay(id: string): Promise<ParkedRecord | undefined> {
    const found = (await this.held()).get(id);
    if (!found) return undefined;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(found.message.headers ?? {})) {
      const one = Array.isArray(v) ? v[0] : v;
      if (one !== undefined && !OWN_HEADERS.has(k)) headers[k] = one.toString();
    }
    await this.opts.republish(found.record.topic, { key: found.record.key, value: found.message.value ?? Buffer.alloc(0), headers });
    const at = Date.now();
    await this.opts.produce([{ key: id, value: '', headers: { [HEADERS.replayedId]: id, [HEADERS.replayedAt]: String(at) } }]);
    return { ...found.record, replayedAt: at };
  }

  /** Every parked record the topic holds, by id, with its replay marker applied. */
  private async held(): Promise<Map<string, { record: ParkedRecord; message: KafkaMessage }>> {
    const parked = new Map<string, { record: ParkedRecord; message: KafkaMessage }>();
    const replayed = new Map<string, number>();
    for (const m of await this.scan()) {
      const h = (name: string): string | undefined => {
        const v = m.headers?.[name];
        const one = Array.isArray(v) ? v[0] : v;
        return one === undefined ? undefined : one.toString();
      };
      const replayOf = h(HEADERS.replayedId);
      if (replayOf !== undefined) {
        replayed.set(replayOf, Number(h(HEADERS.replayedAt)));
        continue;
      }
      const id = h(HEADERS.id);
      const topic = h(HEADERS.topic) as BusTopic | undefined;
      if (id === undefined || topic === undefined || !BUS_TOPICS.includes(topic)) continue;
      let value: unknown = null;
      try {
        value = decodeRecord(topic, m).value;
      } catch {
        // Parked because no code could read it: listed without a value.
      }
      parked.set(id, {
        message: m,
        record: {
          id,
          topic,
          group: h(HEADERS.group) ?? '',
          key: m.key?.toString('utf8') ?? '',
          value,
          cause: { code: h(HEADERS.code) ?? 'SW_ERR_INTERNAL', message: h(HEADERS.message) ?? '' },
          attempts: Number(h(HEADERS.attempts) ?? 0),
          parkedAt: Number(h(HEADERS.at) ?? 0),
          replayedAt: null,
        },
      });
    }
    for (const [id, at] of replayed) {
      const p = parked.get(id);
      if (p) p.record.replayedAt = at;
    }
    return parked;
  }

  /** Reads the topic from its oldest record to its end as it is now. */
  private async scan(): Promise<KafkaMessage[]> {
    const { kafka } = this.opts;
    const admin = kafka.admin();
    const groupId = `${this.opts.groupPrefix}streetwatch-parked-reader-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    try {
      await admin.connect();
      const ends = (await admin.fetchTopicOffsets(this.topic)).filter((o) => Number(o.high) > Number(o.low));
      if (ends.length === 0) return [];
      const last = new Map(ends.map((o) => [o.partition, Number(o.high) - 1]));
      const out: KafkaMessage[] = [];
      await consumer.connect();
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`reading ${this.topic} took longer than ${SCAN_TIMEOUT_MS / 1000} s`)), SCAN_TIMEOUT_MS);
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const end = last.get(batch.partition);
              if (end === undefined) return;
              for (const m of batch.messages) if (Number(m.offset) <= end) out.push(m);
              if (Number(batch.lastOffset()) >= end) last.delete(batch.partition);
              if (last.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch((err: unknown) => {
            clearTimeout(timer);
            reject(err);
          });
      });
      return out;
    } catch (err) {
      throw unavailable(`Kafka (${this.topic})`, err);
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }
}
