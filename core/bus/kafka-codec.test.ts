import { describe, expect, it } from 'vitest';
import type { RawPublish } from '../schemas.js';
import { RAW_HEADERS, UndecodableMessage, decodeRecord, encodeRecord, type EncodedMessage, type ReceivedMessage } from './kafka-codec.js';

/** What a consumer gets back from Kafka for what a producer sent: bytes for strings. */
function received(m: EncodedMessage): ReceivedMessage {
  const bytes = (v: string | Buffer): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);
  return { key: bytes(m.key), value: bytes(m.value), headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, bytes(v)])) };
}

describe('Kafka codec', () => {
  it('sends a raw publish as its payload bytes, the rest in headers', () => {
    const raw: RawPublish = { id: 'r-1', clientId: 'wl-1', topic: 'v1/devices/wl-1/telemetry', payload: Buffer.from([0x7b, 0x00, 0xff]), qos: 1, receivedAt: 1_700_000_000_123 };
    const m = encodeRecord('sw.raw', { key: 'wl-1', value: raw });
    expect(m.value).toBe(raw.payload);
    expect(m.headers).toEqual({ 'sw-id': 'r-1', 'sw-client-id': 'wl-1', 'sw-topic': raw.topic, 'sw-qos': '1', 'sw-received-at': '1700000000123' });
    expect(decodeRecord('sw.raw', received(m))).toEqual({ key: 'wl-1', value: raw });
  });

  it('carries where HTTP ingest wants the outcome of a raw publish, when it does', () => {
    const raw: RawPublish = { id: 'r-2', clientId: 'sys-1', topic: 'v1/devices/wl-2/telemetry', payload: Buffer.from('[]'), qos: 1, receivedAt: 1, reportTo: 'ingest:report:r-2' };
    const m = encodeRecord('sw.raw', { key: 'wl-2', value: raw });
    expect(m.headers?.['sw-report-to']).toBe('ingest:report:r-2');
    expect(decodeRecord('sw.raw', received(m))).toEqual({ key: 'wl-2', value: raw });
  });

  it('sends other records as JSON', () => {
    const letter = { ref: 'r', deviceId: 'd', clientId: 'd', topic: 't', code: 'SW_ERR_PAYLOAD_JSON', message: '井盖', receivedAt: 1, payload: '', truncated: false };
    expect(decodeRecord('sw.deadletter', received(encodeRecord('sw.deadletter', { key: 'd', value: letter })))).toEqual({ key: 'd', value: letter });
  });

  it('refuses messages it can never decode, rather than retrying them forever', () => {
    const raw = received(encodeRecord('sw.raw', { key: 'k', value: { id: 'i', clientId: 'k', topic: 't', payload: Buffer.from('x'), qos: 0, receivedAt: 1 } }));
    delete raw.headers![RAW_HEADERS.topic];
    expect(() => decodeRecord('sw.raw', raw)).toThrow(UndecodableMessage);
    expect(() => decodeRecord('sw.alerts', { key: Buffer.from('k'), value: Buffer.from('{nope') })).toThrow(UndecodableMessage);
    expect(() => decodeRecord('sw.alerts', { key: null, value: Buffer.from('{}') })).toThrow(UndecodableMessage);
  });
});
