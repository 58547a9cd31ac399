import { randomBytes } from 'node:crypto';

const ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `SW-20261121-7KQ2M9`: a prefix, the day (UTC) it was made, then 30 random bits (Crockford base32). */
export function newDayId(prefix: string, now: number): string {
  const day = new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
  const bytes = randomBytes(6);
  let suffix = '';
  for (const b of bytes) suffix += ID_ALPHABET[b & 31];
  return `${prefix}-${day}-${suffix}`;
}
