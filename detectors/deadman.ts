/**
 * The deadman rule: no data from a device (or from any device in a zone) for `after` → a
 * device-offline alert. Pure: the engine loads and saves the state, this decides.
 *
 * Silence is measured in arrival time against the platform clock, not in the devices' own
 * timestamps: a device whose clock is wrong is still heard, and a silent one sends no
 * timestamps at all. Any data counts, late or duplicate included: it proves the device is alive.
 *
 * After the detectors start, silence is counted from the start at the earliest: while they were
 * down the platform could not hear anyone, and a backlog of readings may still be on its way.
 */

export interface DeadmanState {
  phase: 'ok' | 'firing';
  /** Arrival time of the newest data. */
  lastSeen: number;
  /** When the silence reached `after` (firing). */
  since: number;
  /** The newest data: who sent it and what, for the alert. */
  deviceId: string;
  metric: string;
  value: number;
  ts: number;
}

export interface DeadmanData {
  deviceId: string;
  metric: string;
  value: number;
  ts: number;
  receivedAt: number;
}

export interface DeadmanOutcome {
  state: DeadmanState;
  transition: 'firing' | 'resolved' | undefined;
}

/** Data arrived: the subject is alive; a firing rule resolves. */
export function deadmanData(prev: DeadmanState | undefined, d: DeadmanData): DeadmanOutcome {
  const newest = !prev || d.receivedAt >= prev.lastSeen;
  const last = newest ? { deviceId: d.deviceId, metric: d.metric, value: d.value, ts: d.ts, lastSeen: d.receivedAt } : prev!;
  const state: DeadmanState = {
    phase: 'ok',
    since: prev?.since ?? d.receivedAt,
    deviceId: last.deviceId,
    metric: last.metric,
    value: last.value,
    ts: last.ts,
    lastSeen: last.lastSeen,
  };
  return { state, transition: prev?.phase === 'firing' ? 'resolved' : undefined };
}

/** Time passed: fires once the silence, counted from `notBefore` at the earliest, reaches `after`. */
export function deadmanTick(prev: DeadmanState, now: number, after: number, notBefore: number): DeadmanOutcome {
  if (prev.phase === 'firing') return { state: prev, transition: undefined };
  const quietSince = Math.max(prev.lastSeen, notBefore);
  if (now - quietSince < after) return { state: prev, transition: undefined };
  return { state: { ...prev, phase: 'firing', since: quietSince + after }, transition: 'firing' };
}
