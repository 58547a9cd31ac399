import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * One pino logger for the process. Secrets never reach it: authorization headers and
 * passwords are redacted wherever they appear in a logged object.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { app: 'streetwatch', ...bindings },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'password', 'secret', '*.password', '*.secret', 'token', '*.token'],
      censor: '[redacted]',
    },
  });
}
