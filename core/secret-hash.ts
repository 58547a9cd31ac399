import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Device secrets are 256-bit random tokens issued by the platform, so their hash only has to
 * resist inversion, not dictionary attacks on human passwords: no number of scrypt rounds
 * changes a 2^256 search. The cost is paid on every connect, and a broker restart makes every
 * device reconnect at once, so N=2^12 (about 8 ms, 4 MiB) is the trade-off: it keeps a
 * 10k-device reconnect storm to seconds of CPU while a stolen database still costs an attacker
 * scrypt work per guess. The parameters are stored in the hash, so raising them later keeps
 * existing secrets valid.
 */
export const SCRYPT_PARAMS = { N: 4096, r: 8, p: 1 } as const;
const KEY_LEN = 32;
const SALT_LEN = 16;

/** Generates a device secret: 32 random bytes, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** `scrypt$N$r$p$<salt b64url>$<hash b64url>` */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await derive(secret, salt, SCRYPT_PARAMS);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Compares in constant time; false for a malformed hash. */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every(Number.isSafeInteger)) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_LEN) return false;
  const actual = await derive(secret, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

function derive(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { ...params, maxmem: 128 * params.N * params.r * 2 };
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
