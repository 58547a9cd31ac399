import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { z } from 'zod';
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
/** How far in the future a reading's timestamp may be (device clock skew). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** Stages that `npm start` runs in one process. */
export const STAGES = ['broker', 'ingest', 'detectors', 'alerting', 'api'] as const;
export type StageName = (typeof STAGES)[number];

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  STREETWATCH_MAP_TILES: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine((u) => ['{z}', '{x}', '{y}'].every((p) => u.includes(p)), 'must be a tile URL template with {z}, {x} and {y}')
    .optional(),
  STREETWATCH_MAP_ATTRIBUTION: z.string().max(512).optional(),
});

export interface Config {
  mqtt: { host: string; port: number; maxPacketBytes: number };
  http: { host: string; port: number };
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
  return {
    mqtt: { host: e.MQTT_HOST, port: e.MQTT_PORT, maxPacketBytes: e.MQTT_MAX_PACKET_SIZE },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
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
