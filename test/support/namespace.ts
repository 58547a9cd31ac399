/**
 * Namespaces for suites (and benchmarks) on the real Kafka, InfluxDB and Redis: topics,
 * groups, keys and a measurement no one else uses, and their removal afterwards so shared
 * servers do not fill up with test data. Free of vitest, so bench/ can use it too.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { ServiceEnv } from './services.js';

/** `swtest-1a2b3c4d.`: legal in topic names, Redis keys and measurement names. */
export function testNamespace(kind: 'swtest' | 'swbench' = 'swtest'): string {
  return `${kind}-${randomUUID().slice(0, 8)}.`;
}

/** The environment that points a platform at the services, in its own namespace. */
export function distributedEnv(services: ServiceEnv, namespace: string): Record<string, string> {
  return { ...services, STREETWATCH_NAMESPACE: namespace };
}

/** The InfluxDB measurement of a namespace (see docs/influxdb-schema.md). */
export function measurementOf(namespace: string): string {
  return `${namespace}reading`;
}

/** The namespace's InfluxDB measurements: readings, their roll-ups and the fold mark. */
export function measurementsOf(namespace: string): string[] {
  return ['', '_5m', '_1h', '_meta'].map((suffix) => `${measurementOf(namespace)}${suffix}`);
}

/** Deletes the namespace's Kafka topics, Redis keys and InfluxDB measurements. */
export async function dropNamespace(services: ServiceEnv, namespace: string): Promise<void> {
  if (!/^sw(test|bench)-/.test(namespace)) throw new Error(`refusing to drop "${namespace}": not a test namespace`);
  await Promise.all([dropTopics(services, namespace), dropKeys(services, namespace), ...measurementsOf(namespace).map((m) => dropMeasurement(services, m))]);
}

async function dropTopics(services: ServiceEnv, namespace: string): Promise<void> {
  const admin = new Kafka({ clientId: 'streetwatch-test', brokers: services.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(namespace));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(namespace));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

async function dropKeys(services: ServiceEnv, namespace: string): Promise<void> {
  const redis = new Redis(services.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function dropMeasurement(services: ServiceEnv, measurement: string): Promise<void> {
  const headers = { authorization: `Token ${services.INFLUX_TOKEN}`, 'content-type': 'application/json' };
  const query = `org=${encodeURIComponent(services.INFLUX_ORG)}&bucket=${encodeURIComponent(services.INFLUX_BUCKET)}`;
  const res = await fetch(`${services.INFLUX_URL}/api/v2/delete?${query}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ start: '1970-01-01T00:00:00Z', stop: '2200-01-01T00:00:00Z', predicate: `_measurement="${measurement}"` }),
  });
  await res.body?.cancel();
  if (res.status !== 404) return;
  // InfluxDB 1.8 has no v2 delete endpoint; InfluxQL drops the measurement in the database.
  const db = services.INFLUX_BUCKET.split('/')[0]!;
  const drop = await fetch(`${services.INFLUX_URL}/query?db=${encodeURIComponent(db)}`, {
    method: 'POST',
    headers: { authorization: `Token ${services.INFLUX_TOKEN}` },
    body: new URLSearchParams({ q: `DROP MEASUREMENT "${measurement}"` }),
  });
  await drop.body?.cancel();
}
