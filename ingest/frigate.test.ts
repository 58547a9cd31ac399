import { describe, expect, it } from 'vitest';
import { decodeFrigateEvent, eventTypeOfLabel } from './frigate.js';

const now = Date.UTC(2025, 10, 21, 8, 1, 0);
const ctx = { deviceId: 'nvr-1', ref: 'r', receivedAt: now, maxReadingAgeMs: 7 * 86_400_000, maxPayloadBytes: 65536, maxClockSkewMs: 300_000 };
const decode = (v: unknown) => decodeFrigateEvent(Buffer.from(JSON.stringify(v)), ctx);
const person = { id: '1763712001.482913-k2m9qp', camera: 'gate', label: 'person', start_time: 1763712001.482913 };

describe('decodeFrigateEvent', () => {
  it('turns Frigate labels into event types', () => {
    expect(eventTypeOfLabel('person')).toBe('person');
    expect(eventTypeOfLabel('Traffic Light')).toBe('traffic_light');
    expect(eventTypeOfLabel('license-plate')).toBe('license_plate');
  });

  it('derives a stable id from the tracked object, the phase and the frame, so a resend is recognisable', () => {
    const msg = { type: 'update', after: { ...person, frame_time: 1763712003.1055 } };
    const [a] = decode(msg).items;
    const [b] = decode(msg).items;
    expect(a!.id).toBe('frigate:1763712001.482913-k2m9qp:update:1763712003106');
    expect(b!.id).toBe(a!.id);
  });

  it('falls back to the end time, then the start time, then the arrival', () => {
    expect(decode({ type: 'end', after: { ...person, end_time: 1763712030 } }).items[0]!.ts).toBe(1763712030000);
    expect(decode({ type: 'new', after: person }).items[0]!.ts).toBe(1763712001483);
    expect(decode({ type: 'new', after: { id: 'x', camera: 'c', label: 'car' } }).items[0]!.ts).toBe(now);
  });

  it('accepts nulls where Frigate sends them and leaves out what is not known', () => {
    const [e] = decode({ type: 'new', before: null, after: { ...person, score: null, top_score: null, current_zones: null, entered_zones: [], stationary: null } }).items;
    expect(e).toEqual({ id: expect.any(String), deviceId: 'nvr-1', type: 'person', phase: 'new', trackId: person.id, camera: 'gate', ts: 1763712001483, receivedAt: now, ref: 'r', index: 0 });
  });

  it('refuses labels that make no event type, and times in the future', () => {
    expect(decode({ type: 'new', after: { ...person, label: '人' } }).rejections.map((e) => e.code)).toEqual(['SW_ERR_PAYLOAD_SCHEMA']);
    expect(decode({ type: 'new', after: { ...person, frame_time: now / 1000 + 3600 } }).rejections.map((e) => e.code)).toEqual(['SW_ERR_TS_RANGE']);
  });
});
