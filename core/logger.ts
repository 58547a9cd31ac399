import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Where secrets could sit in a logged object: credentials by every name the code and its
 * libraries use (HTTP headers, MQTT passwords, API keys, query tokens), and their stored hashes.
 * Secrets are never passed to the logger on purpose; this is the net under that rule.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'api_key',
  '*.api_key',
  'access_token',
  '*.access_token',
  'secretHash',
  '*.secretHash',
  'tokenHash',
  '*.tokenHash',
];

/**
 * One pino logger for the process. Secrets never reach it: authorization headers and
 * passwords are redacted wherever they appear in a logged object. `destination` is for tests
 * that read what was logged; by default, standard output.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { app: 'streetwatch', ...bindings },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
