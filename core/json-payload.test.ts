import { describe, expect, it } from 'vitest';
import { isStreetWatchError } from './errors.js';
import { parseJsonPayload } from './json-payload.js';

const refusal = (payload: Buffer, maxBytes: number): unknown => {
  try {
    parseJsonPayload(payload, maxBytes);
  } catch (err) {
    return err;
  }
  throw new Error('accepted');
};

describe('parseJsonPayload', () => {
  it('returns the JSON of a UTF-8 payload within the cap', () => {
    expect(parseJsonPayload(Buffer.from('{"values":{"smoke":0.1}}'), 64)).toEqual({ values: { smoke: 0.1 } });
  });

  it('checks the byte cap before anything else: an oversized payload that is not even UTF-8 is too large', () => {
    const err = refusal(Buffer.alloc(65, 0xff), 64);
    expect(isStreetWatchError(err, 'SW_ERR_PAYLOAD_TOO_LARGE')).toBe(true);
  });

  it('refuses bytes that are not UTF-8, then text that is not JSON, each with its code', () => {
    expect(isStreetWatchError(refusal(Buffer.from([0x7b, 0xff, 0x7d]), 64), 'SW_ERR_PAYLOAD_ENCODING')).toBe(true);
    expect(isStreetWatchError(refusal(Buffer.from('{"values":'), 64), 'SW_ERR_PAYLOAD_JSON')).toBe(true);
  });
});
