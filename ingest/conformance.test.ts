/**
 * Adapter conformance: every sample payload in test/fixtures/payloads decodes to the readings,
 * events and error codes it lists. test/e2e/adapters.test.ts sends the same samples over MQTT.
 */
import { describe, expect, it } from 'vitest';
import { classifyDeviceTopic } from '../core/topics.js';
import { loadPayloadFixtures, payloadBytes } from '../test/support/payload-fixtures.js';
import { decodePublish } from './decoders.js';

const receivedAt = Date.UTC(2025, 10, 21, 8, 1, 0);
/** The samples keep the times of the documents they come from (Frigate's reaches back to 2020). */
const SAMPLE_READING_AGE_MS = 3650 * 86_400_000;

describe('adapter conformance on sample payloads', () => {
  it.each(loadPayloadFixtures().map((f) => [f.name, f] as const))('%s', (_name, f) => {
    const topic = `v1/devices/dev-1/${f.topic}`;
    const decoded = decodePublish(classifyDeviceTopic(f.topic.split('/')), topic, payloadBytes(f), {
      deviceId: 'dev-1',
      ref: 'ref-1',
      receivedAt,
      maxReadingAgeMs: SAMPLE_READING_AGE_MS,
      maxPayloadBytes: 65536,
      maxClockSkewMs: 5 * 60_000,
    });
    expect(decoded.rejections.map((e) => e.code), decoded.rejections.map((e) => e.message).join('\n')).toEqual(f.expect.codes);
    expect(decoded.readings).toMatchObject(f.expect.readings ?? []);
    expect(decoded.events).toMatchObject(f.expect.events ?? []);
    for (const e of decoded.events) expect(e).toMatchObject({ deviceId: 'dev-1', ref: 'ref-1' });
  });
});
