import { describe, expect, it } from 'vitest';
import { generateSecret, hashSecret, verifySecret } from './secret-hash.js';

describe('device secret hashing', () => {
  it('verifies the right secret and refuses others', async () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const hash = await hashSecret(secret);
    expect(hash).toMatch(/^scrypt\$4096\$8\$1\$/);
    expect(hash).not.toContain(secret);
    expect(await verifySecret(secret, hash)).toBe(true);
    expect(await verifySecret(`${secret}x`, hash)).toBe(false);
    expect(await verifySecret('', hash)).toBe(false);
  });

  it('salts: the same secret hashes differently', async () => {
    const s = generateSecret();
    expect(await hashSecret(s)).not.toBe(await hashSecret(s));
  });

  it('refuses malformed hashes without throwing', async () => {
    for (const bad of ['', 'bcrypt$x', 'scrypt$a$b$c$d$e', 'scrypt$4096$8$1$c2FsdA$c2hvcnQ']) expect(await verifySecret('s', bad)).toBe(false);
  });
});
