/**
 * The configuration of `npm run flows`: one object from the environment, validated at start-up,
 * like the platform's (core/config.ts). A bad value stops start-up naming the variable.
 */
import path from 'node:path';
import { z } from 'zod';
import { StreetWatchError } from '../../core/errors.js';
import { readTokenFile } from '../../core/token-file.js';
import { OPERATOR_TOKEN_FILE } from '../../broker/operator.js';

/** Node-RED's own port. */
export const DEFAULT_FLOWS_PORT = 1880;
/** The platform `npm start` runs on this machine. */
export const DEFAULT_PLATFORM_URL = 'mqtt://localhost:1883';
/** The operator name flows connect as when none is configured. */
export const DEFAULT_OPERATOR = 'flows';
/** bcrypt cost of the editor password hash: Node-RED checks it at every login. */
export const ADMIN_HASH_ROUNDS = 10;

const printable = (min: number) => z.string().min(min, `must be at least ${min} characters`).max(256).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const EnvSchema = z.object({
  STREETWATCH_MQTT_URL: z.string().regex(/^(mqtts?|wss?):\/\/.+/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL').default(DEFAULT_PLATFORM_URL),
  STREETWATCH_OPERATOR_NAME: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$').default(DEFAULT_OPERATOR),
  STREETWATCH_OPERATOR_TOKEN: printable(16).optional(),
  STREETWATCH_DATA_DIR: z.string().min(1).default('./data'),
  STREETWATCH_FLOWS_HOST: z.string().min(1).default('0.0.0.0'),
  STREETWATCH_FLOWS_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_FLOWS_PORT),
  STREETWATCH_FLOWS_DIR: z.string().min(1).optional(),
  STREETWATCH_FLOWS_USER: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'must be 1 to 64 letters, digits or _.@-').default('admin'),
  STREETWATCH_FLOWS_PASSWORD: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required: the editor runs flows on this machine, so it is never left open' : 'must be a string') })
    .min(8, 'must be at least 8 characters')
    .max(72, 'must be at most 72 bytes (bcrypt)'),
  STREETWATCH_FLOWS_SECRET: printable(16).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface FlowsConfig {
  /** Node-RED's HTTP listener (editor and admin API). */
  host: string;
  port: number;
  /** Node-RED's user directory: flows, their encrypted credentials, context. */
  userDir: string;
  /** The editor's single admin user; the password is hashed at start-up, never stored. */
  admin: { username: string; password: string };
  /** Encrypts the credentials stored with the flows; Node-RED generates one when absent. */
  credentialSecret: string | undefined;
  /** The platform the flows read from and raise alerts on. */
  platform: { url: string; operator: string; token: string };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
}

/**
 * The flows runner's configuration. The operator token comes from STREETWATCH_OPERATOR_TOKEN,
 * else from the platform's data dir, where `npm start` generates it.
 */
export function loadFlowsConfig(env: NodeJS.ProcessEnv): FlowsConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    // Secrets are never echoed back, not even a wrong one.
    const secret = /PASSWORD|TOKEN|SECRET/.test(variable);
    const got = cleaned[variable] === undefined ? '' : secret ? ' (value hidden)' : ` (got ${JSON.stringify(cleaned[variable])})`;
    throw new StreetWatchError('SW_ERR_CONFIG_ENV', [variable, `${issue.message}${got}`]);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.STREETWATCH_DATA_DIR);
  const tokenFile = path.join(dataDir, OPERATOR_TOKEN_FILE);
  const token = e.STREETWATCH_OPERATOR_TOKEN ?? readTokenFile(tokenFile);
  if (token === undefined) {
    throw new StreetWatchError('SW_ERR_CONFIG_ENV', ['STREETWATCH_OPERATOR_TOKEN', `is not set and ${tokenFile} does not exist: start the platform first (npm start), or set the platform's operator token`]);
  }
  return {
    host: e.STREETWATCH_FLOWS_HOST,
    port: e.STREETWATCH_FLOWS_PORT,
    userDir: path.resolve(e.STREETWATCH_FLOWS_DIR ?? path.join(dataDir, 'node-red')),
    admin: { username: e.STREETWATCH_FLOWS_USER, password: e.STREETWATCH_FLOWS_PASSWORD },
    credentialSecret: e.STREETWATCH_FLOWS_SECRET,
    platform: { url: e.STREETWATCH_MQTT_URL, operator: e.STREETWATCH_OPERATOR_NAME, token },
    logLevel: e.LOG_LEVEL,
  };
}
