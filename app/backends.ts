/**
 * Picks the adapter of each port from the configuration: Kafka, InfluxDB and Redis when their
 * variables are set, the embedded log and SQLite otherwise. A process connects only to the
 * services its stages use, so a detectors process does not wait for InfluxDB.
 *
 * Embedded, the bus keeps its log in the readings' database: ingest then stores a batch's
 * readings, publishes what they trigger and commits its position in one transaction.
 */
import type { FailureKind } from '../core/bus/failure-policy.js';
import { KafkaBus } from '../core/bus/kafka.js';
import { SqliteLogBus, type SqliteLogBusOptions } from '../core/bus/sqlite-log.js';
import type { Config, StageName } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, OutboxPolicy, SeriesStore, StateStore } from '../core/ports.js';
import { influxSeries } from '../core/store/open-series.js';
import { RedisStateStore } from '../core/store/redis/state.js';
import { SqliteSeriesStore } from '../core/store/sqlite/series.js';
import { SqliteStateStore } from '../core/store/sqlite/state.js';

export type PortName = 'bus' | 'series' | 'state';

/** What each stage reads and writes. */
export const STAGE_PORTS: Record<StageName, readonly PortName[]> = {
  broker: ['bus', 'state'],
  ingest: ['bus', 'series', 'state'],
  detectors: ['bus', 'state'],
  alerting: ['bus', 'state'],
  api: ['bus', 'series', 'state'],
};

/** An external service this process depends on. */
export interface Service {
  /** `kafka`, `influxdb` or `redis`: the key of its `/readyz` check. */
  readonly name: 'kafka' | 'influxdb' | 'redis';
  /** What logs call it: `Kafka`, `InfluxDB`, `Redis`. */
  readonly label: string;
  /** Where it is, without credentials. */
  readonly target: string;
  connect(): Promise<void>;
  isConnected(): boolean;
}

export interface Backends {
  bus: Bus;
  series: SeriesStore;
  state: StateStore;
  /** The external services the stages of this process need; empty in embedded mode. */
  services: Service[];
  /** True when an embedded store keeps data in the data directory. */
  usesDataDir: boolean;
}

export function createBackends(config: Config, deps: { logger: Logger; metrics: Metrics }): Backends {
  const { logger, metrics } = deps;
  const needs = new Set(config.stages.flatMap((s) => STAGE_PORTS[s]));
  const onHandlerError = (topic: string, group: string, err: unknown, kind: FailureKind): void => {
    metrics.busHandlerErrors.inc({ topic, group });
    logger.error({ err, topic, group }, kind === 'unavailable' ? 'batch failed, a service it needs is unavailable: waiting for it' : 'batch failed, retrying');
  };
  const onHandled = (topic: string, group: string, count: number, seconds: number): void => {
    metrics.busRecords.inc({ topic, group }, count);
    metrics.busBatchSeconds.observe({ topic, group }, seconds);
  };
  const onParked = (topic: string, group: string, code: string): void => metrics.busParked.inc({ topic, group, code });
  const failure = { maxAttempts: config.bus.maxAttempts };
  const services: Service[] = [];
  let usesDataDir = false;

  let series: SeriesStore;
  if (config.influx) {
    const influx = influxSeries(config.influx, config.namespace, logger, config.retention.rawMs);
    series = influx;
    if (needs.has('series')) services.push({ name: 'influxdb', label: 'InfluxDB', target: influx.target, connect: () => influx.connect(), isConnected: () => influx.isConnected() });
  } else {
    series = new SqliteSeriesStore(config.dataDir, (message) => logger.warn({ message }, 'checkpoint of the readings database failed'));
    usesDataDir ||= needs.has('series');
  }

  let bus: Bus;
  if (config.kafka) {
    const kafka = new KafkaBus({
      brokers: config.kafka.brokers,
      clientId: config.kafka.clientId,
      namespace: config.namespace,
      logger,
      onHandlerError,
      onHandled,
      onParked,
      failure,
      parkedRetentionMs: config.bus.parkedRetentionMs,
    });
    bus = kafka;
    if (needs.has('bus')) services.push({ name: 'kafka', label: 'Kafka', target: kafka.target, connect: () => kafka.connect(), isConnected: () => kafka.isConnected() });
  } else {
    const opts: Omit<SqliteLogBusOptions, 'database' | 'ownsDatabase'> = {
      maxPendingRecords: config.bus.maxPendingRecords,
      maxPendingBytes: config.bus.maxPendingBytes,
      parkedRetentionMs: config.bus.parkedRetentionMs,
      failure,
      logger: logger.child({ component: 'bus' }),
      onHandlerError,
      onHandled,
      onParked,
      onSkipped: (topic, group, count) => metrics.busSkipped.inc({ topic, group }, count),
      onBacklog: (topic, records) => metrics.busBacklog.set({ topic }, records),
    };
    bus =
      series instanceof SqliteSeriesStore
        ? new SqliteLogBus({ ...opts, database: series.database, stored: { 'sw.readings': series.storedReadings } })
        : SqliteLogBus.open(config.dataDir, opts);
    usesDataDir ||= needs.has('bus');
  }

  let state: StateStore;
  if (config.redis) {
    const redis = new RedisStateStore({ url: config.redis.url, namespace: config.namespace, logger, outbox: outboxPolicy(config) });
    state = redis;
    if (needs.has('state')) services.push({ name: 'redis', label: 'Redis', target: redis.target, connect: () => redis.connect(), isConnected: () => redis.isConnected() });
  } else {
    state = new SqliteStateStore(config.dataDir, { outbox: outboxPolicy(config) });
    usesDataDir ||= needs.has('state');
  }

  return { bus, series, state, services, usesDataDir };
}

function outboxPolicy(config: Config): OutboxPolicy {
  return { coalesceMs: config.webhooks.coalesceMs, maxPendingPerUnit: config.webhooks.maxPendingPerUnit };
}
