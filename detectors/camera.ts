/**
 * The camera-event rule: an analytics event of a listed type, confident enough, large enough,
 * inside the selected zones, present for at least `for`. Pure: the engine loads and saves the
 * state (one per rule and camera), this decides.
 *
 * Tracked objects (Frigate-style `phase`): `new` starts a detection, `end` finishes it; an
 * `update` only keeps a known detection alive, and starts one only when the object is moving
 * and now qualifies (it entered the camera zone, its score rose). Updates about stationary
 * objects (a parked car seen again) never start a detection, and an update that flags the
 * object as a false positive withdraws it. A tracked object counts as present from its first
 * event until its `end`, so a stationary one needs no further messages to reach `for`.
 *
 * Events without a phase are instantaneous results (a crowd count every minute): consecutive
 * ones closer than `clearAfter` form one run, whose length is what `for` measures.
 *
 * The rule fires when one detection has been present `for` long, and resolves when none is
 * left: every tracked object ended, or nothing was heard of it for `clearAfter` (an `end` lost
 * on the way), or the run of instantaneous events stopped for `clearAfter`.
 *
 * Time is the camera's (event time). Between messages, the timer tick estimates the camera's
 * time from the platform clock and the offset seen at its newest message.
 */
import type { CameraRule } from '../core/rules.js';
import type { CameraEvent } from '../core/schemas.js';

/** Detections kept per camera and rule; past it the longest-quiet is dropped. */
export const MAX_TRACKS = 64;
/** The id of the run of instantaneous events among the tracks (tracked ids are never empty). */
const RUN = '';

export interface CameraTrack {
  id: string;
  /** Event time first seen (qualifying). */
  since: number;
  /** Event time last heard of. */
  lastTs: number;
}

export interface CameraState {
  phase: 'ok' | 'firing';
  /** Event time the detection that fired began. */
  since: number;
  tracks: CameraTrack[];
  /** Newest event time heard from the camera. */
  lastTs: number;
  /** Arrival minus event time of that newest event: the camera clock's offset. */
  skew: number;
  /** The newest qualifying event, for the alert. */
  last: { type: string; value: number; ts: number };
}

export type CameraParams = Pick<CameraRule, 'types' | 'minScore' | 'minCount' | 'cameraZones' | 'for' | 'clearAfter'>;

export interface CameraOutcome {
  state: CameraState | undefined;
  transition: 'firing' | 'resolved' | undefined;
}

/** Whether an event is the kind of detection the rule looks for (zones of the city aside). */
export function qualifies(rule: CameraParams, e: CameraEvent): boolean {
  if (e.falsePositive) return false;
  if (!rule.types.includes(e.type)) return false;
  if (rule.minScore !== undefined && !(e.score !== undefined && e.score >= rule.minScore)) return false;
  if (rule.minCount !== undefined && !(e.count !== undefined && e.count >= rule.minCount)) return false;
  if (rule.cameraZones && !e.cameraZones?.some((z) => rule.cameraZones!.includes(z))) return false;
  return true;
}

export function cameraEvent(rule: CameraParams, prev: CameraState | undefined, e: CameraEvent): CameraOutcome {
  const ok = qualifies(rule, e);
  if (!prev && !ok) return { state: undefined, transition: undefined };
  const tracks = prev ? prev.tracks.map((t) => ({ ...t })) : [];
  let changed = false;

  if (e.phase === undefined) {
    if (ok) {
      const run = tracks.find((t) => t.id === RUN);
      if (run && e.ts <= run.lastTs) return { state: prev, transition: undefined };
      if (run && e.ts - run.lastTs <= rule.clearAfter) run.lastTs = e.ts;
      else if (run) Object.assign(run, { since: e.ts, lastTs: e.ts });
      else tracks.push({ id: RUN, since: e.ts, lastTs: e.ts });
      changed = true;
    }
  } else {
    const id = e.trackId ?? e.id;
    const i = tracks.findIndex((t) => t.id === id);
    const track = tracks[i];
    if (e.phase === 'end' || (e.phase === 'update' && e.falsePositive)) {
      if (track) {
        tracks.splice(i, 1);
        changed = true;
      }
    } else if (track) {
      if (e.ts > track.lastTs) {
        track.lastTs = e.ts;
        changed = true;
      }
    } else if (ok && (e.phase === 'new' || !e.stationary)) {
      tracks.push({ id, since: e.ts, lastTs: e.ts });
      changed = true;
    }
  }
  if (!changed) return { state: prev, transition: undefined };

  const newest = !prev || e.ts >= prev.lastTs;
  const lastTs = newest ? e.ts : prev!.lastTs;
  const state: CameraState = {
    phase: prev?.phase ?? 'ok',
    since: prev?.since ?? e.ts,
    tracks: capTracks(tracks.filter((t) => lastTs - t.lastTs <= rule.clearAfter)),
    lastTs,
    skew: newest ? e.receivedAt - e.ts : prev!.skew,
    last: ok ? { type: e.type, value: e.score ?? e.count ?? 1, ts: e.ts } : prev!.last,
  };
  return decide(rule, state, state.lastTs);
}

/** Time passed: a present object may reach `for`, a silent one times out. */
export function cameraTick(rule: CameraParams, prev: CameraState, now: number): CameraOutcome {
  const cameraNow = now - prev.skew;
  const tracks = prev.tracks.filter((t) => cameraNow - t.lastTs <= rule.clearAfter);
  const state = tracks.length === prev.tracks.length ? prev : { ...prev, tracks };
  return decide(rule, state, cameraNow);
}

function decide(rule: CameraParams, state: CameraState, cameraNow: number): CameraOutcome {
  const present = (t: CameraTrack): number => (t.id === RUN ? t.lastTs : cameraNow) - t.since;
  if (state.phase === 'ok') {
    const due = state.tracks.filter((t) => present(t) >= rule.for);
    if (due.length === 0) return { state, transition: undefined };
    const since = Math.min(...due.map((t) => t.since));
    return { state: { ...state, phase: 'firing', since }, transition: 'firing' };
  }
  // `since` stays: the resolved alert names the detection it ends.
  if (state.tracks.length === 0) return { state: { ...state, phase: 'ok' }, transition: 'resolved' };
  return { state, transition: undefined };
}

/** Nothing pending and nothing firing: the state can be dropped. */
export function isQuiet(state: CameraState): boolean {
  return state.phase === 'ok' && state.tracks.length === 0;
}

function capTracks(tracks: CameraTrack[]): CameraTrack[] {
  if (tracks.length <= MAX_TRACKS) return tracks;
  return [...tracks].sort((a, b) => b.lastTs - a.lastTs).slice(0, MAX_TRACKS);
}
