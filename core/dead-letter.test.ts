import { describe, expect, it } from 'vitest';
import { deadLetter, deviceErrorMessage } from './dead-letter.js';
import { swError } from './errors.js';
import { DeviceErrorMessage, type RawPublish } from './schemas.js';

describe('deadLetter', () => {
  it('cuts a long topic, and a message quoting it, to what the error schema allows', () => {
    const topic = `v1/devices/d-1/${'x'.repeat(60_000)}`;
    const raw: RawPublish = { id: 'ref-1', clientId: 'd-1', topic, payload: Buffer.from('{}'), qos: 1, receivedAt: 0 };
    const d = deadLetter(raw, 'd-1', swError('SW_ERR_TOPIC_UNKNOWN', topic));
    expect(d.topic).toHaveLength(1024);
    expect(d.topic.endsWith('…')).toBe(true);
    expect(d.message.length).toBeLessThanOrEqual(1024);
    expect(DeviceErrorMessage.safeParse(deviceErrorMessage(d)).success).toBe(true);
  });

  it('keeps short ones as they are', () => {
    const raw: RawPublish = { id: 'ref-2', clientId: 'd-1', topic: 'v1/devices/d-1/nonsense', payload: Buffer.from('{}'), qos: 1, receivedAt: 0 };
    const d = deadLetter(raw, 'd-1', swError('SW_ERR_TOPIC_UNKNOWN', raw.topic));
    expect(deviceErrorMessage(d)).toEqual({ code: 'SW_ERR_TOPIC_UNKNOWN', message: 'topic v1/devices/d-1/nonsense is not part of the device contract', topic: raw.topic, ref: 'ref-2' });
  });
});
