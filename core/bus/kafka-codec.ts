/**
 * How bus records look on Kafka. The key is the record key (device id, fingerprint, ticket id),
 * so Kafka's partitioner keeps each key's records in one partition, in order.
 *
 * - `sw.raw`: the value is the device's payload bytes, unchanged; the rest of the publish
 *   (id, client id, MQTT topic, QoS, arrival time) travels in headers. Payloads can be binary
 *   and up to the payload limit, so base64 inside JSON would cost a third more bytes and a
 *   copy on each side.
 * - every other topic: the value is the record's JSON (UTF-8).
 */
import type { BusRecord, BusTopic, BusTopics } from '../ports.js';
import type { RawPublish } from '../schemas.js';

/** Header names of a `sw.raw` message. */
export const RAW_HEADERS = {
  id: 'sw-id',
  clientId: 'sw-client-id',
  topic: 'sw-topic',
  qos: 'sw-qos',
  receivedAt: 'sw-received-at',
  reportTo: 'sw-report-to',
} as const;

export interface EncodedMessage {
  key: string;
  value: Buffer | string;
  headers?: Record<string, string>;
  /** Epoch ms as a string, the way Kafka clients pass timestamps. */
  timestamp?: string;
}

/** What a consumer receives (kafkajs' KafkaMessage, reduced to what we read). */
export interface ReceivedMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/** A message that can never be decoded: skipped and logged, never retried. */
export class UndecodableMessage extends Error {
  override readonly name = 'UndecodableMessage';
}

export function encodeRecord<K extends BusTopic>(topic: K, record: BusRecord<BusTopics[K]>): EncodedMessage {
  if (topic === 'sw.raw') {
    const raw = record.value as RawPublish;
    return {
      key: record.key,
      value: raw.payload,
      timestamp: String(raw.receivedAt),
      headers: {
        [RAW_HEADERS.id]: raw.id,
        [RAW_HEADERS.clientId]: raw.clientId,
        [RAW_HEADERS.topic]: raw.topic,
        [RAW_HEADERS.qos]: String(raw.qos),
        [RAW_HEADERS.receivedAt]: String(raw.receivedAt),
        ...(raw.reportTo === undefined ? {} : { [RAW_HEADERS.reportTo]: raw.reportTo }),
      },
    };
  }
  return { key: record.key, value: JSON.stringify(record.value) };
}

export function decodeRecord<K extends BusTopic>(topic: K, message: ReceivedMessage): BusRecord<BusTopics[K]> {
  if (message.key === null || message.value === null) throw new UndecodableMessage('message without a key or a value');
  const key = message.key.toString('utf8');
  if (topic === 'sw.raw') {
    const qos = Number(header(message, RAW_HEADERS.qos));
    const receivedAt = Number(header(message, RAW_HEADERS.receivedAt));
    if ((qos !== 0 && qos !== 1 && qos !== 2) || !Number.isSafeInteger(receivedAt)) throw new UndecodableMessage('bad sw-qos or sw-received-at header');
    const raw: RawPublish = {
      id: header(message, RAW_HEADERS.id),
      clientId: header(message, RAW_HEADERS.clientId),
      topic: header(message, RAW_HEADERS.topic),
      payload: message.value,
      qos,
      receivedAt,
    };
    const reportTo = optionalHeader(message, RAW_HEADERS.reportTo);
    if (reportTo !== undefined) raw.reportTo = reportTo;
    return { key, value: raw as BusTopics[K] };
  }
  try {
    return { key, value: JSON.parse(message.value.toString('utf8')) as BusTopics[K] };
  } catch (err) {
    throw new UndecodableMessage(`value is not JSON: ${(err as Error).message}`);
  }
}

function header(message: ReceivedMessage, name: string): string {
  const one = optionalHeader(message, name);
  if (one === undefined) throw new UndecodableMessage(`missing header ${name}`);
  return one;
}

function optionalHeader(message: ReceivedMessage, name: string): string | undefined {
  const v = message.headers?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : typeof one === 'string' ? one : one.toString('utf8');
}
