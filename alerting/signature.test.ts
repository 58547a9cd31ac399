import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './delivery.js';
import { signBody, verifySignature } from './signature.js';

describe('webhook signature', () => {
  it('is the hex HMAC-SHA256 of the raw body', () => {
    const body = '{"event":"ticket.created"}';
    const expected = createHmac('sha256', 'secret-of-linhe-0001').update(body).digest('hex');
    expect(signBody(body, 'secret-of-linhe-0001')).toBe(`sha256=${expected}`);
    expect(verifySignature(body, 'secret-of-linhe-0001', `sha256=${expected}`)).toBe(true);
    expect(verifySignature(`${body} `, 'secret-of-linhe-0001', `sha256=${expected}`)).toBe(false);
    expect(verifySignature(body, 'another-secret-000000', `sha256=${expected}`)).toBe(false);
    expect(verifySignature(body, 'secret-of-linhe-0001', undefined)).toBe(false);
  });
});

describe('delivery backoff', () => {
  it('doubles per attempt between half and the whole delay, capped', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(30, 1000, 60_000, () => 0)).toBe(30_000);
  });
});
