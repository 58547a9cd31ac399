import { describe, expect, it } from 'vitest';
import { deadmanData, deadmanTick, type DeadmanState } from './deadman.js';

const data = (receivedAt: number, ts = receivedAt, deviceId = 'wl-1') => ({ deviceId, metric: 'water_level', value: 0.2, ts, receivedAt });
const AFTER = 15 * 60_000;

describe('deadman rule', () => {
  it('fires once the silence reaches `after`, not a millisecond before, and only once', () => {
    const seen = deadmanData(undefined, data(1_000)).state;
    expect(deadmanTick(seen, 1_000 + AFTER - 1, AFTER, 0).transition).toBeUndefined();
    const fired = deadmanTick(seen, 1_000 + AFTER, AFTER, 0);
    expect(fired).toMatchObject({ transition: 'firing', state: { phase: 'firing', since: 1_000 + AFTER } });
    expect(deadmanTick(fired.state, 1_000 + 5 * AFTER, AFTER, 0).transition).toBeUndefined();
  });

  it('resolves on the next data, and keeps when the silence began for the resolved alert', () => {
    const fired = deadmanTick(deadmanData(undefined, data(0)).state, AFTER, AFTER, 0).state;
    const back = deadmanData(fired, data(AFTER + 5_000));
    expect(back).toMatchObject({ transition: 'resolved', state: { phase: 'ok', lastSeen: AFTER + 5_000 } });
  });

  it('counts any arrival, late or duplicate, as a sign of life, but never moves lastSeen back', () => {
    let s: DeadmanState = deadmanData(undefined, data(10_000)).state;
    s = deadmanData(s, data(20_000, 1_000)).state; // an old measurement arriving late
    expect(s.lastSeen).toBe(20_000);
    s = deadmanData(s, data(15_000)).state; // a redelivered older message
    expect(s.lastSeen).toBe(20_000);
    expect(deadmanTick(s, 20_000 + AFTER - 1, AFTER, 0).transition).toBeUndefined();
  });

  it('does not count silence from before the detectors started', () => {
    const seen = deadmanData(undefined, data(0)).state;
    const startedAt = 10 * 60_000;
    expect(deadmanTick(seen, AFTER, AFTER, startedAt).transition).toBeUndefined();
    expect(deadmanTick(seen, startedAt + AFTER, AFTER, startedAt)).toMatchObject({ transition: 'firing', state: { since: startedAt + AFTER } });
  });

  it('remembers the last device heard, for zone-wide rules', () => {
    let s = deadmanData(undefined, data(1, 1, 'a')).state;
    s = deadmanData(s, data(2, 2, 'b')).state;
    expect(s.deviceId).toBe('b');
  });
});
