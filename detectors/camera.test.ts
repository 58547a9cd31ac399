import { describe, expect, it } from 'vitest';
import type { CameraEvent } from '../core/schemas.js';
import { cameraEvent, cameraTick, isQuiet, qualifies, type CameraParams, type CameraState } from './camera.js';

const S = 1_000;
let n = 0;
function ev(ts: number, over: Partial<CameraEvent> = {}): CameraEvent {
  return { id: `e${n++}`, deviceId: 'cam-1', type: 'person', score: 0.9, ts, receivedAt: ts + 200, zoneIds: [], ref: 'r', ...over };
}

function feed(rule: CameraParams, events: CameraEvent[], start?: CameraState): { out: string[]; state: CameraState | undefined } {
  let state = start;
  const out = events.map((e) => {
    const r = cameraEvent(rule, state, e);
    state = r.state;
    return r.transition ?? (state ? state.phase : 'none');
  });
  return { out, state };
}

const loiter: CameraParams = { types: ['person'], minScore: 0.6, for: 30 * S, clearAfter: 5 * 60 * S };

describe('camera rule: what counts', () => {
  it('checks type, score, count, camera zones and false positives', () => {
    const rule: CameraParams = { types: ['crowd'], minScore: 0.5, minCount: 100, cameraZones: ['plaza'], for: 0, clearAfter: 60 * S };
    const crowd = ev(0, { type: 'crowd', score: 0.8, count: 150, cameraZones: ['plaza', 'gate'] });
    expect(qualifies(rule, crowd)).toBe(true);
    expect(qualifies(rule, { ...crowd, type: 'person' })).toBe(false);
    expect(qualifies(rule, { ...crowd, score: 0.4 })).toBe(false);
    expect(qualifies(rule, { ...crowd, score: undefined })).toBe(false);
    expect(qualifies(rule, { ...crowd, count: 99 })).toBe(false);
    expect(qualifies(rule, { ...crowd, count: 100 })).toBe(true);
    expect(qualifies(rule, { ...crowd, cameraZones: ['gate'] })).toBe(false);
    expect(qualifies(rule, { ...crowd, falsePositive: true })).toBe(false);
  });
});

describe('camera rule: tracked objects (Frigate phases)', () => {
  it('fires when a tracked object has been present `for` long, and resolves on its end', () => {
    const { out } = feed(loiter, [ev(0, { phase: 'new', trackId: 't1' }), ev(10 * S, { phase: 'update', trackId: 't1' }), ev(30 * S, { phase: 'update', trackId: 't1' }), ev(40 * S, { phase: 'end', trackId: 't1' })]);
    expect(out).toEqual(['ok', 'ok', 'firing', 'resolved']);
  });

  it('lets a present object reach `for` on the clock tick, without further messages', () => {
    const { state } = feed(loiter, [ev(0, { phase: 'new', trackId: 't1', stationary: true })]);
    // Camera time = platform time - 200 ms (the offset seen at its last message).
    expect(cameraTick(loiter, state!, 30 * S + 199).transition).toBeUndefined();
    expect(cameraTick(loiter, state!, 30 * S + 200)).toMatchObject({ transition: 'firing', state: { since: 0 } });
  });

  it('does not start a detection from an update about a stationary object it never saw arrive', () => {
    const { out, state } = feed({ ...loiter, for: 0 }, [ev(0, { phase: 'update', trackId: 'parked', stationary: true })]);
    expect(out).toEqual(['none']);
    expect(state).toBeUndefined();
    // A moving object that now qualifies (score went up) does start one.
    expect(feed({ ...loiter, for: 0 }, [ev(0, { phase: 'new', trackId: 't2', score: 0.3 }), ev(S, { phase: 'update', trackId: 't2', score: 0.8 })]).out).toEqual(['none', 'firing']);
  });

  it('withdraws a detection flagged as a false positive', () => {
    const rule = { ...loiter, for: 0 };
    expect(feed(rule, [ev(0, { phase: 'new', trackId: 't1' }), ev(S, { phase: 'update', trackId: 't1', falsePositive: true })]).out).toEqual(['firing', 'resolved']);
    // Withdrawn before it fired: never fires.
    const { out, state } = feed(loiter, [ev(0, { phase: 'new', trackId: 't1' }), ev(S, { phase: 'update', trackId: 't1', falsePositive: true }), ev(60 * S, { phase: 'update', trackId: 'other', stationary: true })]);
    expect(out).toEqual(['ok', 'ok', 'ok']);
    expect(isQuiet(state!)).toBe(true);
  });

  it('stays firing while another tracked object is still there', () => {
    const rule = { ...loiter, for: 0 };
    const { out } = feed(rule, [ev(0, { phase: 'new', trackId: 'a' }), ev(S, { phase: 'new', trackId: 'b' }), ev(2 * S, { phase: 'end', trackId: 'a' }), ev(3 * S, { phase: 'end', trackId: 'b' })]);
    expect(out).toEqual(['firing', 'firing', 'firing', 'resolved']);
  });

  it('ignores a repeated `new`, an `end` of an unknown object, and out-of-order updates', () => {
    const rule = { ...loiter, for: 10 * S };
    const { out } = feed(rule, [ev(0, { phase: 'new', trackId: 't1' }), ev(5 * S, { phase: 'new', trackId: 't1' }), ev(9 * S, { phase: 'end', trackId: 'zz' }), ev(12 * S, { phase: 'update', trackId: 't1' }), ev(11 * S, { phase: 'update', trackId: 't1' })]);
    expect(out).toEqual(['ok', 'ok', 'ok', 'firing', 'firing']);
  });

  it('times out an object whose `end` never came', () => {
    const rule = { ...loiter, for: 0 };
    const { state } = feed(rule, [ev(0, { phase: 'new', trackId: 't1' })]);
    expect(cameraTick(rule, state!, loiter.clearAfter + 200).transition).toBeUndefined();
    const gone = cameraTick(rule, state!, loiter.clearAfter + 201);
    expect(gone.transition).toBe('resolved');
    expect(isQuiet(gone.state!)).toBe(true);
  });
});

describe('camera rule: instantaneous events', () => {
  const crowd: CameraParams = { types: ['crowd'], minCount: 100, for: 2 * 60 * S, clearAfter: 5 * 60 * S };
  const c = (ts: number, count: number) => ev(ts, { type: 'crowd', count, score: undefined });

  it('fires when qualifying events keep coming for `for`, and resolves after `clearAfter` of quiet', () => {
    const { out, state } = feed(crowd, [c(0, 150), c(60 * S, 160), c(120 * S, 170)]);
    expect(out).toEqual(['ok', 'ok', 'firing']);
    expect(cameraTick(crowd, state!, 420 * S + 200).transition).toBeUndefined();
    expect(cameraTick(crowd, state!, 420 * S + 201).transition).toBe('resolved');
  });

  it('starts the run again after a pause longer than clearAfter, and ignores duplicates', () => {
    const { out } = feed(crowd, [c(0, 150), c(60 * S, 150), c(60 * S, 150), c(400 * S, 150), c(460 * S, 150), c(520 * S, 150)]);
    expect(out).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'firing']);
  });

  it('lets events that do not qualify pass without starting anything', () => {
    expect(feed(crowd, [c(0, 50)]).state).toBeUndefined();
  });
});
