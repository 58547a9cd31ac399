import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { z } from 'zod';
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
/** Failed logins (MQTT or HTTP) one address may make back to back before it is refused. */
export const DEFAULT_LOGIN_FAILURE_BURST = 10;
/** After the burst, one more failed login is allowed per this period. */
export const DEFAULT_LOGIN_FAILURE_REFILL_MS = 10_000;
/** How far in the future a reading's timestamp may be (device clock skew). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** Stages that `npm start` runs in one process. */
export const STAGES = ['broker', 'ingest', 'detectors', 'alerting', 'api'] as const;
export type StageName = (typeof STAGES)[number];

const port = z.coerce.number().int().min(0).max(65535);
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
      const names = s.split(',').map((x) => x.trim()).filter(Boolean);
      for (const n of names) {
        if (!(STAGES as readonly string[]).includes(n)) {
          ctx.addIssue({ code: 'custom', message: `unknown stage "${n}", expected some of ${STAGES.join(', ')}` });
          return z.NEVER;
        }
      }
      return names as StageName[];
    }),
  STREETWATCH_MAX_PAYLOAD: positiveInt.max(16 * 1024 * 1024).default(DEFAULT_MAX_PAYLOAD_BYTES),
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
  STREETWATCH_LOGIN_FAILURE_BURST: positiveInt.max(1_000_000).default(DEFAULT_LOGIN_FAILURE_BURST),
  STREETWATCH_LOGIN_FAILURE_REFILL: duration(1, 86_400_000).default(DEFAULT_LOGIN_FAILURE_REFILL_MS),
  STREETWATCH_LIMIT_LOOPBACK: boolean.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  STREETWATCH_MAP_TILES: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine((u) => ['{z}', '{x}', '{y}'].every((p) => u.includes(p)), 'must be a tile URL template with {z}, {x} and {y}')
    .optional(),
  STREETWATCH_MAP_ATTRIBUTION: z.string().max(512).optional(),
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
  ingest: { maxPayloadBytes: number; maxClockSkewMs: number };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** The web console's map: without a tile URL it draws the city's GeoJSON on a plain background. */
  console: { tileUrl: string | undefined; tileAttribution: string | undefined };
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
    throw new StreetWatchError('SW_ERR_CONFIG_ENV', [variable, `${issue.message} (got ${JSON.stringify(cleaned[variable])})`]);
  }
  const e = parsed.data;
  const tlsSet = [e.MQTT_TLS_PORT, e.MQTT_TLS_CERT, e.MQTT_TLS_KEY].some((v) => v !== undefined);
  if (tlsSet) {
    for (const variable of ['MQTT_TLS_PORT', 'MQTT_TLS_CERT', 'MQTT_TLS_KEY'] as const) {
      if (e[variable] === undefined) throw new StreetWatchError('SW_ERR_CONFIG_ENV', [variable, 'is required when any of MQTT_TLS_PORT, MQTT_TLS_CERT, MQTT_TLS_KEY is set']);
    }
  }
  const loginFailures: LoginThrottleConfig = { burst: e.STREETWATCH_LOGIN_FAILURE_BURST, refillMs: e.STREETWATCH_LOGIN_FAILURE_REFILL, limitLoopback: e.STREETWATCH_LIMIT_LOOPBACK };
  return {
    mqtt: {
      host: e.MQTT_HOST,
      port: e.MQTT_PORT,
      maxPacketBytes: e.MQTT_MAX_PACKET_SIZE,
      tls: tlsSet ? { port: e.MQTT_TLS_PORT!, certFile: path.resolve(e.MQTT_TLS_CERT!), keyFile: path.resolve(e.MQTT_TLS_KEY!) } : undefined,
      wsPort: e.MQTT_WS_PORT,
      limits: {
        maxConnections: e.MQTT_MAX_CONNECTIONS,
        connectRate: e.MQTT_CONNECT_RATE,
        connectBurst: e.MQTT_CONNECT_BURST,
        publishRate: e.MQTT_PUBLISH_RATE,
        publishBurst: e.MQTT_PUBLISH_BURST,
        keepaliveMaxSeconds: Math.max(1, Math.floor(e.MQTT_KEEPALIVE_MAX / 1000)),
        connectTimeoutMs: e.MQTT_CONNECT_TIMEOUT,
        drainTimeoutMs: e.MQTT_DRAIN_TIMEOUT,
        loginFailures,
      },
    },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT, loginFailures },
    dataDir: path.resolve(e.STREETWATCH_DATA_DIR),
    cityDir: path.resolve(e.STREETWATCH_CONFIG),
    adminToken: e.STREETWATCH_ADMIN_TOKEN,
    operatorToken: e.STREETWATCH_OPERATOR_TOKEN,
    stages: e.STREETWATCH_STAGES,
    ingest: { maxPayloadBytes: e.STREETWATCH_MAX_PAYLOAD, maxClockSkewMs: DEFAULT_MAX_CLOCK_SKEW_MS },
    logLevel: e.LOG_LEVEL,
    console: { tileUrl: e.STREETWATCH_MAP_TILES, tileAttribution: e.STREETWATCH_MAP_ATTRIBUTION },
  };
}
