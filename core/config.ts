import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { z } from 'zod';
import { redactUrl } from './connect-retry.js';
import { parseDuration } from './duration.js';
import { StreetWatchError } from './errors.js';

/** The repository root, so defaults work from any working directory. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The demo city shipped with the repository (Guangzhou, Tianhe district). */
export const DEFAULT_CITY_DIR = path.join(REPO_ROOT, 'cities', 'tianhe');
/** MQTT over TCP, the IANA port. */
export const DEFAULT_MQTT_PORT = 1883;
/** The HTTP API and console. */
export const DEFAULT_HTTP_PORT = 8080;
/** Largest device payload ingest will parse; checked before JSON.parse. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;
/** Largest MQTT packet the broker accepts; bigger ones close the connection (MQTT-3.3.5-2 style). */
export const DEFAULT_MAX_PACKET_BYTES = 128 * 1024;
/** Ticket grades published as CAP 1.2 alerts: the ones the public must hear of (district and street level). */
export const DEFAULT_CAP_GRADES = 'A,B';
/** Open MQTT connections (TCP, TLS and WebSocket together, authenticated or not) at most. */
export const DEFAULT_MQTT_MAX_CONNECTIONS = 20_000;
/** New MQTT connections per second from one address (IPv6: one /64), after a burst. */
export const DEFAULT_MQTT_CONNECT_RATE = 20;
/** New MQTT connections one address may open back to back: a site gateway's devices after an outage. */
export const DEFAULT_MQTT_CONNECT_BURST = 100;
/** Publishes per second one client may send, after a burst; beyond it the broker reads more slowly. */
export const DEFAULT_MQTT_PUBLISH_RATE = 20;
/** Publishes one client may send back to back (a buffer emptied after an outage). */
export const DEFAULT_MQTT_PUBLISH_BURST = 100;
/** The longest keep-alive the broker honours; 0 (none) and longer ones are held to it. */
export const DEFAULT_MQTT_KEEPALIVE_MAX_MS = 20 * 60_000;
/** How long a new connection may take to send its CONNECT. */
export const DEFAULT_MQTT_CONNECT_TIMEOUT_MS = 10_000;
/** How long a client that does not read may hold up a write before it is disconnected. */
export const DEFAULT_MQTT_DRAIN_TIMEOUT_MS = 30_000;
/** How long a stopping broker waits for its publishes in progress: a hand-off to Kafka takes milliseconds, a leader change seconds. */
export const DEFAULT_MQTT_SHUTDOWN_DRAIN_MS = 10_000;
/**
 * Publishes one MQTT connection may have in progress (authorized, waiting for its rate, handed
 * to the pipeline) before the broker stops reading it: enough for a device that pipelines, few
 * enough that a flooding client holds next to nothing.
 */
export const DEFAULT_MQTT_CLIENT_INFLIGHT = 64;
/**
 * Publishes the broker hands to the pipeline at once, across its connections; the others wait
 * their turn in the broker. Under the least the embedded log lets wait for room (1,000), which
 * refuses beyond: a publish refused closes its connection.
 */
export const DEFAULT_MQTT_HANDOFF_CONCURRENCY = 500;
/** Publishes waiting for their hand-off at which the broker reads no connection (again at half). */
export const DEFAULT_MQTT_HANDOFF_MAX_WAITING = 10_000;
/**
 * Bytes one MQTT connection may hold in the broker (publishes in progress, messages written to
 * it and not yet sent); beyond it the connection is closed. Reading stops at a quarter of it.
 */
export const DEFAULT_MQTT_CLIENT_QUEUE_BYTES = 1024 * 1024;
/** Refused subscriptions per second one client gets answered, after a burst; the rest wait. */
export const DEFAULT_MQTT_SUBSCRIBE_REFUSAL_RATE = 1;
/** Refused subscriptions one client gets answered back to back: a misconfigured device's few filters. */
export const DEFAULT_MQTT_SUBSCRIBE_REFUSAL_BURST = 10;
/** Failed logins (MQTT or HTTP) one address may make back to back before it is refused. */
export const DEFAULT_LOGIN_FAILURE_BURST = 10;
/** After the burst, one more failed login is allowed per this period. */
export const DEFAULT_LOGIN_FAILURE_REFILL_MS = 10_000;
/** How far in the future a reading's timestamp may be (device clock skew). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** How far in the past a reading may be: a week buffered through an outage; older ones would raise tickets about the past. */
export const DEFAULT_MAX_READING_AGE_MS = 7 * 86_400_000;
/** How far a reading may lie before its device's last accepted one: two sensors or a resent publish overtaking each other. */
export const DEFAULT_TS_TOLERANCE_MS = 60_000;
/** Distinct metric names one device may report: the catalogue has 16, a multi-sensor station a few dozen. */
export const DEFAULT_MAX_DEVICE_METRICS = 64;
/** The fastest a mobile device is believed to move (km/h): a vehicle on an expressway. */
export const DEFAULT_MAX_SPEED_KMH = 200;
/** HTTP ingest batches per second one token may send, after a burst: up to 5000 readings a second per system. */
export const DEFAULT_HTTP_INGEST_RATE = 5;
/** HTTP ingest batches one token may send back to back (a system catching up after an outage). */
export const DEFAULT_HTTP_INGEST_BURST = 20;
/** Stages that `npm start` runs in one process. */
/** First webhook retry delay, doubled per failed attempt. */
export const DEFAULT_WEBHOOK_BACKOFF_MS = 1_000;
/** Longest wait between two webhook attempts. */
export const DEFAULT_WEBHOOK_MAX_BACKOFF_MS = 10 * 60_000;
/** Changes of one ticket within this window after a webhook to a unit go out as one message, the latest state. */
export const DEFAULT_WEBHOOK_COALESCE_MS = 2_000;
/** Pending webhook messages per unit: a day of a busy unit's changes; beyond it the oldest are given up. */
export const DEFAULT_WEBHOOK_MAX_PENDING = 1_000;
/** The outbox policy (core/ports.ts OutboxPolicy) a state store applies unless told otherwise. */
export const DEFAULT_OUTBOX_POLICY = { coalesceMs: DEFAULT_WEBHOOK_COALESCE_MS, maxPendingPerUnit: DEFAULT_WEBHOOK_MAX_PENDING } as const;
/** Failed webhook attempts in a row after which a unit's circuit opens (no attempts for a while). */
export const DEFAULT_WEBHOOK_BREAKER_FAILURES = 5;
/** How long an open circuit waits before one probe; doubled per failed probe up to the longest backoff. */
export const DEFAULT_WEBHOOK_BREAKER_OPEN_MS = 30_000;
/** API writes per second one token may make, after its burst. */
export const DEFAULT_API_WRITE_RATE = 2;
/** API writes one token may make back to back (a shift's worth of clicks, an import in chunks). */
export const DEFAULT_API_WRITE_BURST = 60;
/** Attempts a bus record gets before it is parked, unless its failure says a service is down. */
export const DEFAULT_BUS_MAX_ATTEMPTS = 5;
/** Records of a topic of the embedded log not yet taken by every consumer group before publishes wait. */
export const DEFAULT_BUS_MAX_PENDING = 50_000;
/** The same bound in bytes: what the embedded log may hold in memory per topic. */
export const DEFAULT_BUS_MAX_PENDING_BYTES = 32 * 1024 * 1024;
/** How long parked bus records are kept for the admin to list and replay. */
export const DEFAULT_PARKED_RETENTION_MS = 7 * 24 * 3_600_000;
/** People's reports (and photo uploads) one token may file per hour, after a burst: a grid worker's busy shift. */
export const DEFAULT_REPORTS_PER_HOUR = 60;
/** Reports one token may file back to back (a 12345 system catching up). */
export const DEFAULT_REPORT_BURST = 20;
/** Largest report photo: a phone camera's JPEG after the console shrinks it, with room to spare. */
export const DEFAULT_PHOTO_MAX_BYTES = 2 * 1024 * 1024;
/** How long report photos are kept: a season of disputes about a case, not an archive. */
export const DEFAULT_PHOTO_RETENTION_MS = 90 * 86_400_000;
/** How long report records are kept: a year of reporter look-ups and audits. */
export const DEFAULT_REPORT_RETENTION_MS = 365 * 86_400_000;
/** Raw readings kept: a month of full detail for charts, backtests and incident reviews. */
export const DEFAULT_RETENTION_RAW_MS = 30 * 86_400_000;
/** 5-minute roll-ups kept: a quarter at chart resolution, for seasonal comparisons. */
export const DEFAULT_RETENTION_5M_MS = 90 * 86_400_000;
/** Hourly roll-ups kept: five years, the span of a district's plans, audits and KPI reviews. */
export const DEFAULT_RETENTION_1H_MS = 1_825 * 86_400_000;
/** Delivered (or given-up) webhook messages kept: a week to answer "was it sent, when?". */
export const DEFAULT_RETENTION_OUTBOX_MS = 7 * 86_400_000;
/** A device silent this long, its deadman alert sent long ago, leaves the rules' subject lists. */
export const DEFAULT_RETENTION_SILENT_MS = 30 * 86_400_000;
/** How often the retention job folds and prunes: often enough that each run is small. */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 60_000;
/** Rows one step of the retention job handles before it lets other work run (about 50 ms of SQLite at a district's load, docs/OPERATIONS.md). */
export const DEFAULT_MAINTENANCE_BATCH = 2_000;
/** Free disk space under which /readyz warns: about two days of growth at a district's load (docs/OPERATIONS.md). */
export const DEFAULT_DISK_WARN_BYTES = 20 * 1024 ** 3;
export const STAGES = ['broker', 'ingest', 'detectors', 'alerting', 'api'] as const;
export type StageName = (typeof STAGES)[number];
/** Kafka client id: how the brokers' logs and quotas name our connections. */
export const DEFAULT_KAFKA_CLIENT_ID = 'streetwatch';
/** Topic, group, key and measurement prefixes: legal in Kafka topic names, Redis keys and Flux strings. */
export const NAMESPACE_RE = /^[A-Za-z0-9._-]{0,64}$/;

/** Splits a comma-separated stage list; throws a message naming the unknown stage. */
export function parseStages(list: string): StageName[] {
  const names = list.split(',').map((x) => x.trim()).filter(Boolean);
  for (const n of names) {
    if (!(STAGES as readonly string[]).includes(n)) throw new Error(`unknown stage "${n}", expected some of ${STAGES.join(', ')}`);
  }
  if (names.length === 0) throw new Error(`no stage given, expected some of ${STAGES.join(', ')}`);
  return [...new Set(names)] as StageName[];
}

const port = z.coerce.number().int().min(0).max(65535);
const httpUrl = z
  .string()
  .max(4096)
  .refine((s) => URL.canParse(s) && ['http:', 'https:'].includes(new URL(s).protocol), 'must be an http:// or https:// URL');
const positiveInt = z.coerce.number().int().positive();
const boolean = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
/** A duration like "30s", "5m" (see core/duration.ts), in milliseconds, within [min, max]. */
const duration = (min: number, max: number) =>
  z
    .string()
    .max(32)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `must be a duration like "30s" or "5m" from ${min} ms to ${max} ms` });
        return z.NEVER;
      }
      return ms;
    });

const DAY_MS = 86_400_000;
const UNIT_BYTES = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 } as const;
/** A size like "500MiB" or "5GiB" (binary units), in bytes. */
const bytes = z
  .string()
  .max(32)
  .transform((text, ctx) => {
    const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(text.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom', message: 'must be a size like "500MiB" or "5GiB"' });
      return z.NEVER;
    }
    return Math.round(Number(m[1]) * UNIT_BYTES[(m[2] ?? 'B') as keyof typeof UNIT_BYTES]);
  });

const EnvSchema = z.object({
  MQTT_HOST: z.string().min(1).default('0.0.0.0'),
  MQTT_PORT: port.default(DEFAULT_MQTT_PORT),
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: port.default(DEFAULT_HTTP_PORT),
  STREETWATCH_DATA_DIR: z.string().min(1).default('./data'),
  STREETWATCH_CONFIG: z.string().min(1).default(DEFAULT_CITY_DIR),
  STREETWATCH_ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  STREETWATCH_OPERATOR_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  STREETWATCH_STAGES: z
    .string()
    .default(STAGES.join(','))
    .transform((s, ctx) => {
      try {
        return parseStages(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  STREETWATCH_MAX_PAYLOAD: positiveInt.max(16 * 1024 * 1024).default(DEFAULT_MAX_PAYLOAD_BYTES),
  STREETWATCH_MAX_CLOCK_SKEW: duration(0, 3_600_000).default(DEFAULT_MAX_CLOCK_SKEW_MS),
  STREETWATCH_MAX_READING_AGE: duration(60_000, 3650 * 86_400_000).default(DEFAULT_MAX_READING_AGE_MS),
  STREETWATCH_TS_TOLERANCE: duration(0, 86_400_000).default(DEFAULT_TS_TOLERANCE_MS),
  STREETWATCH_MAX_DEVICE_METRICS: positiveInt.max(10_000).default(DEFAULT_MAX_DEVICE_METRICS),
  STREETWATCH_MAX_SPEED: positiveInt.max(5_000).default(DEFAULT_MAX_SPEED_KMH),
  STREETWATCH_HTTP_INGEST_RATE: positiveInt.max(1_000_000).default(DEFAULT_HTTP_INGEST_RATE),
  STREETWATCH_HTTP_INGEST_BURST: positiveInt.max(1_000_000).default(DEFAULT_HTTP_INGEST_BURST),
  MQTT_MAX_PACKET_SIZE: positiveInt.max(256 * 1024 * 1024).default(DEFAULT_MAX_PACKET_BYTES),
  MQTT_TLS_PORT: port.optional(),
  MQTT_TLS_CERT: z.string().max(4096).optional(),
  MQTT_TLS_KEY: z.string().max(4096).optional(),
  MQTT_WS_PORT: port.optional(),
  MQTT_MAX_CONNECTIONS: positiveInt.max(10_000_000).default(DEFAULT_MQTT_MAX_CONNECTIONS),
  MQTT_CONNECT_RATE: positiveInt.max(1_000_000).default(DEFAULT_MQTT_CONNECT_RATE),
  MQTT_CONNECT_BURST: positiveInt.max(1_000_000).default(DEFAULT_MQTT_CONNECT_BURST),
  MQTT_PUBLISH_RATE: positiveInt.max(1_000_000).default(DEFAULT_MQTT_PUBLISH_RATE),
  MQTT_PUBLISH_BURST: positiveInt.max(1_000_000).default(DEFAULT_MQTT_PUBLISH_BURST),
  // The wire carries seconds, at most 65535 [MQTT-3.1.2.10].
  MQTT_KEEPALIVE_MAX: duration(1_000, 65_535_000).default(DEFAULT_MQTT_KEEPALIVE_MAX_MS),
  MQTT_CONNECT_TIMEOUT: duration(100, 300_000).default(DEFAULT_MQTT_CONNECT_TIMEOUT_MS),
  MQTT_DRAIN_TIMEOUT: duration(100, 600_000).default(DEFAULT_MQTT_DRAIN_TIMEOUT_MS),
  MQTT_SHUTDOWN_DRAIN: duration(0, 600_000).default(DEFAULT_MQTT_SHUTDOWN_DRAIN_MS),
  MQTT_PROXY_PROTOCOL: z.enum(['on', 'off']).default('off'),
  MQTT_NODE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"').optional(),
  MQTT_CLIENT_INFLIGHT: positiveInt.max(65_535).default(DEFAULT_MQTT_CLIENT_INFLIGHT),
  // The embedded log refuses beyond 1,000 publishes waiting for room at its smallest bound.
  MQTT_HANDOFF_CONCURRENCY: positiveInt.max(1_000).default(DEFAULT_MQTT_HANDOFF_CONCURRENCY),
  MQTT_HANDOFF_MAX_WAITING: positiveInt.max(1_000_000).default(DEFAULT_MQTT_HANDOFF_MAX_WAITING),
  MQTT_CLIENT_QUEUE_BYTES: positiveInt.min(16 * 1024).max(1024 * 1024 * 1024).default(DEFAULT_MQTT_CLIENT_QUEUE_BYTES),
  MQTT_SUBSCRIBE_REFUSAL_RATE: positiveInt.max(1_000_000).default(DEFAULT_MQTT_SUBSCRIBE_REFUSAL_RATE),
  MQTT_SUBSCRIBE_REFUSAL_BURST: positiveInt.max(1_000_000).default(DEFAULT_MQTT_SUBSCRIBE_REFUSAL_BURST),
  STREETWATCH_LOGIN_FAILURE_BURST: positiveInt.max(1_000_000).default(DEFAULT_LOGIN_FAILURE_BURST),
  STREETWATCH_LOGIN_FAILURE_REFILL: duration(1, 86_400_000).default(DEFAULT_LOGIN_FAILURE_REFILL_MS),
  STREETWATCH_WEBHOOK_BACKOFF: duration(10, 3_600_000).default(DEFAULT_WEBHOOK_BACKOFF_MS),
  STREETWATCH_WEBHOOK_MAX_BACKOFF: duration(10, 86_400_000).default(DEFAULT_WEBHOOK_MAX_BACKOFF_MS),
  STREETWATCH_WEBHOOK_COALESCE: duration(0, 600_000).default(DEFAULT_WEBHOOK_COALESCE_MS),
  STREETWATCH_WEBHOOK_MAX_PENDING: positiveInt.max(10_000_000).default(DEFAULT_WEBHOOK_MAX_PENDING),
  STREETWATCH_WEBHOOK_BREAKER_FAILURES: positiveInt.max(1_000).default(DEFAULT_WEBHOOK_BREAKER_FAILURES),
  STREETWATCH_WEBHOOK_BREAKER_OPEN: duration(10, 86_400_000).default(DEFAULT_WEBHOOK_BREAKER_OPEN_MS),
  STREETWATCH_API_WRITE_RATE: z.coerce.number().positive().max(1_000_000).default(DEFAULT_API_WRITE_RATE),
  STREETWATCH_API_WRITE_BURST: positiveInt.max(1_000_000).default(DEFAULT_API_WRITE_BURST),
  STREETWATCH_LIMIT_LOOPBACK: boolean.default(false),
  STREETWATCH_REPORTS_PER_HOUR: positiveInt.max(1_000_000).default(DEFAULT_REPORTS_PER_HOUR),
  STREETWATCH_REPORT_BURST: positiveInt.max(1_000_000).default(DEFAULT_REPORT_BURST),
  STREETWATCH_PHOTO_MAX_BYTES: positiveInt.min(1024).max(16 * 1024 * 1024).default(DEFAULT_PHOTO_MAX_BYTES),
  STREETWATCH_PHOTO_RETENTION: duration(60_000, 3650 * 86_400_000).default(DEFAULT_PHOTO_RETENTION_MS),
  STREETWATCH_REPORT_RETENTION: duration(60_000, 3650 * 86_400_000).default(DEFAULT_REPORT_RETENTION_MS),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  STREETWATCH_MAP_TILES: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine((u) => ['{z}', '{x}', '{y}'].every((p) => u.includes(p)), 'must be a tile URL template with {z}, {x} and {y}')
    .optional(),
  STREETWATCH_MAP_ATTRIBUTION: z.string().max(512).optional(),
  STREETWATCH_CAP_GRADES: z
    .string()
    .default(DEFAULT_CAP_GRADES)
    .refine((s) => s === 'none' || /^[ABCD](,[ABCD]){0,3}$/.test(s), 'must be grades separated by commas (A,B) or "none"')
    .transform((s) => (s === 'none' ? [] : [...new Set(s.split(','))]) as ('A' | 'B' | 'C' | 'D')[]),
  STREETWATCH_CAP_SENDER: z.string().regex(/^[^\s,<&]{1,128}$/, 'must be 1-128 characters without spaces, commas, "<" or "&" (CAP 1.2 sender)').optional(),
  KAFKA_BROKERS: z
    .string()
    .max(4096)
    .transform((s, ctx) => {
      const brokers = s.split(',').map((b) => b.trim()).filter(Boolean);
      const bad = brokers.find((b) => !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b) && !/^\[[0-9A-Fa-f:]+\]:\d{1,5}$/.test(b));
      if (bad !== undefined || brokers.length === 0) {
        // The value is shown by describeEnvValue, which hides credentials; `bad` might hold some.
        ctx.addIssue({ code: 'custom', message: bad === undefined || bad.includes('@') ? 'expected host:port[,host:port...]' : `expected host:port[,host:port...], "${bad}" is not host:port` });
        return z.NEVER;
      }
      return brokers;
    })
    .optional(),
  KAFKA_CLIENT_ID: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_" or "-"').default(DEFAULT_KAFKA_CLIENT_ID),
  INFLUX_URL: httpUrl.optional(),
  INFLUX_TOKEN: z.string().max(4096).optional(),
  INFLUX_ORG: z.string().max(256).optional(),
  INFLUX_BUCKET: z.string().max(256).optional(),
  INFLUX_ROLLUP_BUCKET: z.string().max(256).optional(),
  REDIS_URL: z
    .string()
    .max(4096)
    .refine((s) => URL.canParse(s) && ['redis:', 'rediss:'].includes(new URL(s).protocol), 'must be a redis:// or rediss:// URL')
    .optional(),
  STREETWATCH_NAMESPACE: z.string().regex(NAMESPACE_RE, 'must be at most 64 letters, digits, ".", "_" or "-"').default(''),
  STREETWATCH_BUS_MAX_ATTEMPTS: positiveInt.max(1_000).default(DEFAULT_BUS_MAX_ATTEMPTS),
  STREETWATCH_BUS_MAX_PENDING: positiveInt.min(100).max(10_000_000).default(DEFAULT_BUS_MAX_PENDING),
  STREETWATCH_BUS_MAX_PENDING_BYTES: positiveInt.min(1024 * 1024).max(4 * 1024 ** 3).default(DEFAULT_BUS_MAX_PENDING_BYTES),
  STREETWATCH_PARKED_RETENTION: duration(60_000, 365 * 86_400_000).default(DEFAULT_PARKED_RETENTION_MS),
  STREETWATCH_RETENTION_RAW: duration(3_600_000, 100 * 365 * DAY_MS).default(DEFAULT_RETENTION_RAW_MS),
  STREETWATCH_RETENTION_5M: duration(3_600_000, 100 * 365 * DAY_MS).default(DEFAULT_RETENTION_5M_MS),
  STREETWATCH_RETENTION_1H: duration(3_600_000, 100 * 365 * DAY_MS).default(DEFAULT_RETENTION_1H_MS),
  STREETWATCH_RETENTION_OUTBOX: duration(60_000, 100 * 365 * DAY_MS).default(DEFAULT_RETENTION_OUTBOX_MS),
  STREETWATCH_RETENTION_SILENT: duration(3_600_000, 100 * 365 * DAY_MS).default(DEFAULT_RETENTION_SILENT_MS),
  STREETWATCH_MAINTENANCE_INTERVAL: duration(1_000, DAY_MS).default(DEFAULT_MAINTENANCE_INTERVAL_MS),
  STREETWATCH_MAINTENANCE_BATCH: positiveInt.min(10).max(1_000_000).default(DEFAULT_MAINTENANCE_BATCH),
  STREETWATCH_DISK_WARN: bytes.default(DEFAULT_DISK_WARN_BYTES),
});

/** Failed logins tolerated per client address before its logins are refused for a while. */
export interface LoginThrottleConfig {
  /** Failures back to back. */
  burst: number;
  /** One more failure is tolerated per this many milliseconds. */
  refillMs: number;
  /** Whether loopback clients (a local simulator, a reverse proxy on this host) are limited too. */
  limitLoopback: boolean;
}

/** The broker's protection against floods and idle or stuck clients. */
export interface MqttLimits {
  /** Open connections at most, all listeners together, authenticated or not. */
  maxConnections: number;
  /** New connections per second from one address (IPv6: one /64), once its burst is spent. */
  connectRate: number;
  /** New connections one address may open back to back. */
  connectBurst: number;
  /** Publishes per second one client may send, once its burst is spent; beyond it it is read more slowly. */
  publishRate: number;
  /** Publishes one client may send back to back. */
  publishBurst: number;
  /** The longest keep-alive honoured, in seconds; 0 and longer ones are held to it. */
  keepaliveMaxSeconds: number;
  /** How long a new connection may take to send its CONNECT (and an HTTP upgrade to arrive). */
  connectTimeoutMs: number;
  /** How long a client that does not read may hold up a write before it is disconnected. */
  drainTimeoutMs: number;
  /** How long a stopping broker waits for its publishes in progress before it closes the connections. */
  shutdownDrainMs: number;
  /** Publishes one connection may have in progress before it is no longer read. */
  clientInflight: number;
  /** Bytes one connection may hold in the broker before it is closed; reading stops at a quarter of it. */
  clientQueueBytes: number;
  /** Publishes handed to the pipeline at once, across connections; the others wait their turn. */
  handOffConcurrency: number;
  /** Publishes waiting for their hand-off at which no connection is read (again at half). */
  handOffMaxWaiting: number;
  /** Refused subscriptions answered per second per client, once its burst is spent; the others wait. */
  subscribeRefusalRate: number;
  /** Refused subscriptions one client gets answered back to back. */
  subscribeRefusalBurst: number;
  /** Failed logins tolerated per address. */
  loginFailures: LoginThrottleConfig;
}

export interface MqttConfig {
  host: string;
  port: number;
  maxPacketBytes: number;
  /** MQTT over TLS, on its own port, when a certificate and key are configured. */
  tls: { port: number; certFile: string; keyFile: string } | undefined;
  /** MQTT over WebSocket at `/mqtt`, when a port is configured. */
  wsPort: number | undefined;
  limits: MqttLimits;
  /** This broker node's name, in its logs, its /metrics and its cluster announcements. */
  nodeId: string;
  /** The plain MQTT listener reads a PROXY protocol header (v1 or v2) first: behind a balancer that sends one. */
  proxyProtocol: boolean;
}

/** What ingest accepts of a device (see ingest/trust.ts and docs/DEVICE-PROTOCOL.md). */
export interface IngestConfig {
  /** Largest payload parsed. */
  maxPayloadBytes: number;
  /** How far after its arrival a reading's time may be. */
  maxClockSkewMs: number;
  /** How far before its arrival a reading's time may be. */
  maxReadingAgeMs: number;
  /** How far before its device's last accepted reading a reading's time may be. */
  reorderToleranceMs: number;
  /** Distinct metric names one device may report. */
  maxMetricsPerDevice: number;
  /** The fastest a mobile device is believed to move, km/h. */
  maxSpeedKmh: number;
}

/** Kafka, the distributed bus. */
export interface KafkaConfig {
  brokers: string[];
  clientId: string;
}

/** InfluxDB, the distributed time-series store (2.x, or 1.8 through its v2 API). */
export interface InfluxConfig {
  url: string;
  /** 2.x: an API token; 1.8: `user:password` (any value when auth is off). */
  token: string;
  /** 2.x: the organization; 1.8 ignores it. */
  org: string;
  /** 2.x: the bucket; 1.8: `database/retention-policy`. */
  bucket: string;
  /**
   * Where the roll-ups go when not beside the readings (INFLUX_ROLLUP_BUCKET): the readings'
   * bucket then keeps them for its own retention (docs/OPERATIONS.md).
   */
  rollupBucket?: string;
}

/** The bus, both adapters: retries and parking; the embedded log's bound. */
export interface BusConfig {
  /** Attempts before a record whose failure is retriable is parked. */
  maxAttempts: number;
  /** Records of a topic not yet taken by every group before publishes wait (embedded log). */
  maxPendingRecords: number;
  /** The same in bytes (embedded log). */
  maxPendingBytes: number;
  /** How long parked records are kept (embedded log; Kafka: `retention.ms` of `sw.parked` when it is created). */
  parkedRetentionMs: number;
}

/**
 * How long what StreetWatch stores is kept (docs/OPERATIONS.md), and how the retention job that
 * enforces it runs. Every duration is in milliseconds.
 */
export interface RetentionConfig {
  /** Raw readings; then 5-minute roll-ups, then hourly ones (each at least as long as the one before). */
  rawMs: number;
  fiveMinuteMs: number;
  hourMs: number;
  /** Settled (delivered or given-up) webhook messages. */
  outboxMs: number;
  /** A subject silent this long, its deadman alert sent, leaves its rules' subject lists. */
  silentMs: number;
  /** How often the job runs. */
  intervalMs: number;
  /** Rows per step of the job. */
  batch: number;
  /** Free disk space under which /readyz warns. */
  diskWarnBytes: number;
}

/** Redis, the distributed state store. */
export interface RedisConfig {
  url: string;
}

export interface Config {
  mqtt: MqttConfig;
  http: { host: string; port: number; loginFailures: LoginThrottleConfig };
  dataDir: string;
  cityDir: string;
  /** Explicit admin token; when absent one is generated and kept in the data dir. */
  adminToken: string | undefined;
  /** Explicit operator (Node-RED) MQTT password; when absent one is generated and kept in the data dir. */
  operatorToken: string | undefined;
  stages: StageName[];
  ingest: IngestConfig;
  /** HTTP ingest of departments' systems: batches per second per ingest token, after a burst. */
  httpIngest: { ratePerSecond: number; burst: number };
  /**
   * Webhook delivery: retries (the first delay, doubled per failed attempt up to the longest),
   * coalescing and the per-unit backlog (OutboxPolicy), and each unit's circuit breaker.
   */
  webhooks: { backoffMs: number; maxBackoffMs: number; coalesceMs: number; maxPendingPerUnit: number; breakerFailures: number; breakerOpenMs: number };
  /** API writes (POST, PUT, PATCH, DELETE) per token: a token bucket. */
  apiWrites: { ratePerSecond: number; burst: number };
  bus: BusConfig;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** The web console's map: without a tile URL it draws the city's GeoJSON on a plain background. */
  console: { tileUrl: string | undefined; tileAttribution: string | undefined };
  /** People's reports: per-token rate, photo size, and how long reports and photos are kept. */
  reports: ReportLimits;
  /** CAP 1.2 feed: the grades it publishes (none: no feed) and its sender id (default: from the district's id). */
  cap: { grades: ('A' | 'B' | 'C' | 'D')[]; sender: string | undefined };
  /** Each service that is set replaces its embedded adapter; none set is the embedded mode. */
  kafka: KafkaConfig | undefined;
  influx: InfluxConfig | undefined;
  redis: RedisConfig | undefined;
  /**
   * Prefix of Kafka topics and consumer groups, Redis keys and the InfluxDB measurement, so
   * that several deployments (or test runs) can share one Kafka, Redis and InfluxDB.
   */
  namespace: string;
  retention: RetentionConfig;
}

/** Variables whose value is a credential: a config error names them but never shows the value. */
export const SECRET_ENV_VARIABLES: ReadonlySet<string> = new Set(['STREETWATCH_ADMIN_TOKEN', 'STREETWATCH_OPERATOR_TOKEN', 'INFLUX_TOKEN']);
/** Variables holding a URL, which may carry a user and password (`redis://:pw@host`) or an API key in its query. */
const URL_ENV_VARIABLES: ReadonlySet<string> = new Set(['REDIS_URL', 'INFLUX_URL', 'STREETWATCH_MAP_TILES']);

/**
 * How a config error shows the value it refused: as given, except credentials. A secret is
 * never shown (its length neither); a URL is shown without user, password and query, and not at
 * all when it does not parse, since then nobody can tell where its password ends.
 */
export function describeEnvValue(variable: string, value: string | undefined): string {
  if (value === undefined) return 'not set';
  if (SECRET_ENV_VARIABLES.has(variable)) return 'the value is a secret and is not shown';
  if (URL_ENV_VARIABLES.has(variable) || /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/i.test(value)) {
    if (!URL.canParse(value)) return 'the value is not shown: it is not a URL, and may hold a password';
    const u = new URL(redactUrl(value));
    const hidden = u.search !== '' || u.hash !== '';
    u.search = '';
    u.hash = '';
    return `got ${JSON.stringify(u.toString())}${hidden ? ' without its query' : ''}`;
  }
  return `got ${JSON.stringify(value)}`;
}

/** Limits of people's reports (API and Open311 POST). */
export interface ReportLimits {
  /** Reports and photo uploads one token may make per hour, once its burst is spent. */
  perHour: number;
  burst: number;
  photoMaxBytes: number;
  photoRetentionMs: number;
  retentionMs: number;
}

/** `embedded` when no external service is configured. */
export function modeOf(config: Pick<Config, 'kafka' | 'influx' | 'redis'>): 'embedded' | 'distributed' {
  return config.kafka || config.influx || config.redis ? 'distributed' : 'embedded';
}

/**
 * Builds the one configuration object from the environment. Nothing else in StreetWatch
 * reads `process.env`. A bad value throws SW_ERR_CONFIG_ENV naming the variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, the way shells and compose files pass them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new StreetWatchError('SW_ERR_CONFIG_ENV', [variable, `${issue.message} (${describeEnvValue(variable, cleaned[variable])})`]);
  }
  const e = parsed.data;
  const tlsSet = [e.MQTT_TLS_PORT, e.MQTT_TLS_CERT, e.MQTT_TLS_KEY].some((v) => v !== undefined);
  if (tlsSet) {
    for (const variable of ['MQTT_TLS_PORT', 'MQTT_TLS_CERT', 'MQTT_TLS_KEY'] as const) {
      if (e[variable] === undefined) throw new StreetWatchError('SW_ERR_CONFIG_ENV', [variable, 'is required when any of MQTT_TLS_PORT, MQTT_TLS_CERT, MQTT_TLS_KEY is set']);
    }
  }
  // A connection must be able to hold the largest packet twice: one being handled, one being read.
  if (e.MQTT_CLIENT_QUEUE_BYTES < 2 * e.MQTT_MAX_PACKET_SIZE) {
    throw new StreetWatchError('SW_ERR_CONFIG_ENV', ['MQTT_CLIENT_QUEUE_BYTES', `must be at least twice MQTT_MAX_PACKET_SIZE (${e.MQTT_MAX_PACKET_SIZE}), got ${e.MQTT_CLIENT_QUEUE_BYTES}`]);
  }
  const loginFailures: LoginThrottleConfig = { burst: e.STREETWATCH_LOGIN_FAILURE_BURST, refillMs: e.STREETWATCH_LOGIN_FAILURE_REFILL, limitLoopback: e.STREETWATCH_LIMIT_LOOPBACK };
  // Each resolution is kept at least as long as the finer one before it, or periods would fall
  // between them.
  if (e.STREETWATCH_RETENTION_5M < e.STREETWATCH_RETENTION_RAW) throw new StreetWatchError('SW_ERR_CONFIG_ENV', ['STREETWATCH_RETENTION_5M', 'must be at least STREETWATCH_RETENTION_RAW']);
  if (e.STREETWATCH_RETENTION_1H < e.STREETWATCH_RETENTION_5M) throw new StreetWatchError('SW_ERR_CONFIG_ENV', ['STREETWATCH_RETENTION_1H', 'must be at least STREETWATCH_RETENTION_5M']);
  if (e.INFLUX_URL !== undefined) {
    for (const variable of ['INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] as const) {
      if (e[variable] === undefined) throw new StreetWatchError('SW_ERR_CONFIG_ENV', [variable, 'is required when INFLUX_URL is set']);
    }
  }
  return {
    mqtt: {
      host: e.MQTT_HOST,
      port: e.MQTT_PORT,
      maxPacketBytes: e.MQTT_MAX_PACKET_SIZE,
      tls: tlsSet ? { port: e.MQTT_TLS_PORT!, certFile: path.resolve(e.MQTT_TLS_CERT!), keyFile: path.resolve(e.MQTT_TLS_KEY!) } : undefined,
      wsPort: e.MQTT_WS_PORT,
      // Host and process: unique on a machine and across a restart, readable in logs.
      nodeId: e.MQTT_NODE_ID ?? `${os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 50)}-${process.pid}`,
      proxyProtocol: e.MQTT_PROXY_PROTOCOL === 'on',
      limits: {
        maxConnections: e.MQTT_MAX_CONNECTIONS,
        connectRate: e.MQTT_CONNECT_RATE,
        connectBurst: e.MQTT_CONNECT_BURST,
        publishRate: e.MQTT_PUBLISH_RATE,
        publishBurst: e.MQTT_PUBLISH_BURST,
        keepaliveMaxSeconds: Math.max(1, Math.floor(e.MQTT_KEEPALIVE_MAX / 1000)),
        connectTimeoutMs: e.MQTT_CONNECT_TIMEOUT,
        drainTimeoutMs: e.MQTT_DRAIN_TIMEOUT,
        shutdownDrainMs: e.MQTT_SHUTDOWN_DRAIN,
        clientInflight: e.MQTT_CLIENT_INFLIGHT,
        clientQueueBytes: e.MQTT_CLIENT_QUEUE_BYTES,
        handOffConcurrency: e.MQTT_HANDOFF_CONCURRENCY,
        handOffMaxWaiting: e.MQTT_HANDOFF_MAX_WAITING,
        subscribeRefusalRate: e.MQTT_SUBSCRIBE_REFUSAL_RATE,
        subscribeRefusalBurst: e.MQTT_SUBSCRIBE_REFUSAL_BURST,
        loginFailures,
      },
    },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT, loginFailures },
    dataDir: path.resolve(e.STREETWATCH_DATA_DIR),
    cityDir: path.resolve(e.STREETWATCH_CONFIG),
    adminToken: e.STREETWATCH_ADMIN_TOKEN,
    operatorToken: e.STREETWATCH_OPERATOR_TOKEN,
    stages: e.STREETWATCH_STAGES,
    ingest: {
      maxPayloadBytes: e.STREETWATCH_MAX_PAYLOAD,
      maxClockSkewMs: e.STREETWATCH_MAX_CLOCK_SKEW,
      maxReadingAgeMs: e.STREETWATCH_MAX_READING_AGE,
      reorderToleranceMs: e.STREETWATCH_TS_TOLERANCE,
      maxMetricsPerDevice: e.STREETWATCH_MAX_DEVICE_METRICS,
      maxSpeedKmh: e.STREETWATCH_MAX_SPEED,
    },
    httpIngest: { ratePerSecond: e.STREETWATCH_HTTP_INGEST_RATE, burst: e.STREETWATCH_HTTP_INGEST_BURST },
    webhooks: {
      backoffMs: e.STREETWATCH_WEBHOOK_BACKOFF,
      maxBackoffMs: Math.max(e.STREETWATCH_WEBHOOK_BACKOFF, e.STREETWATCH_WEBHOOK_MAX_BACKOFF),
      coalesceMs: e.STREETWATCH_WEBHOOK_COALESCE,
      maxPendingPerUnit: e.STREETWATCH_WEBHOOK_MAX_PENDING,
      breakerFailures: e.STREETWATCH_WEBHOOK_BREAKER_FAILURES,
      breakerOpenMs: e.STREETWATCH_WEBHOOK_BREAKER_OPEN,
    },
    apiWrites: { ratePerSecond: e.STREETWATCH_API_WRITE_RATE, burst: e.STREETWATCH_API_WRITE_BURST },
    bus: {
      maxAttempts: e.STREETWATCH_BUS_MAX_ATTEMPTS,
      maxPendingRecords: e.STREETWATCH_BUS_MAX_PENDING,
      maxPendingBytes: e.STREETWATCH_BUS_MAX_PENDING_BYTES,
      parkedRetentionMs: e.STREETWATCH_PARKED_RETENTION,
    },
    logLevel: e.LOG_LEVEL,
    console: { tileUrl: e.STREETWATCH_MAP_TILES, tileAttribution: e.STREETWATCH_MAP_ATTRIBUTION },
    cap: { grades: e.STREETWATCH_CAP_GRADES, sender: e.STREETWATCH_CAP_SENDER },
    reports: {
      perHour: e.STREETWATCH_REPORTS_PER_HOUR,
      burst: e.STREETWATCH_REPORT_BURST,
      photoMaxBytes: e.STREETWATCH_PHOTO_MAX_BYTES,
      photoRetentionMs: e.STREETWATCH_PHOTO_RETENTION,
      retentionMs: e.STREETWATCH_REPORT_RETENTION,
    },
    kafka: e.KAFKA_BROKERS && { brokers: e.KAFKA_BROKERS, clientId: e.KAFKA_CLIENT_ID },
    influx:
      e.INFLUX_URL === undefined
        ? undefined
        : { url: e.INFLUX_URL, token: e.INFLUX_TOKEN!, org: e.INFLUX_ORG!, bucket: e.INFLUX_BUCKET!, ...(e.INFLUX_ROLLUP_BUCKET === undefined ? {} : { rollupBucket: e.INFLUX_ROLLUP_BUCKET }) },
    redis: e.REDIS_URL === undefined ? undefined : { url: e.REDIS_URL },
    namespace: e.STREETWATCH_NAMESPACE,
    retention: {
      rawMs: e.STREETWATCH_RETENTION_RAW,
      fiveMinuteMs: e.STREETWATCH_RETENTION_5M,
      hourMs: e.STREETWATCH_RETENTION_1H,
      outboxMs: e.STREETWATCH_RETENTION_OUTBOX,
      silentMs: e.STREETWATCH_RETENTION_SILENT,
      intervalMs: e.STREETWATCH_MAINTENANCE_INTERVAL,
      batch: e.STREETWATCH_MAINTENANCE_BATCH,
      diskWarnBytes: e.STREETWATCH_DISK_WARN,
    },
  };
}
