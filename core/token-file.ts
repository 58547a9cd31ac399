import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * A credential the environment may set, else the one kept in the data dir, else a new one
 * (256 random bits) written there with mode 0600, so a second process on the same data dir
 * (the Node-RED runner, an operator's shell) can read it. Says where it came from, for banners.
 */
export function ensureTokenFile(configured: string | undefined, dataDir: string, fileName: string, prefix: string): { token: string; file: string | undefined } {
  if (configured) return { token: configured, file: undefined };
  const file = path.join(dataDir, fileName);
  const existing = readTokenFile(file);
  if (existing !== undefined) return { token: existing, file };
  fs.mkdirSync(dataDir, { recursive: true });
  const token = `${prefix}${randomBytes(32).toString('base64url')}`;
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}

/** The token kept in a file, if the file exists and holds one (at least 16 characters). */
export function readTokenFile(file: string): string | undefined {
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    return existing.length >= 16 ? existing : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}
