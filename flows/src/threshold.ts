/**
 * The threshold node's logic: the detectors' own state machine (evaluateThreshold: hysteresis,
 * duration by event time, readings in a row, late readings ignored), kept per subject (a
 * device, a topic).
 */
import { ThresholdRule } from '../../core/rules.js';
import { describeZodError } from '../../core/zod-issues.js';
import { crossedBound, evaluateThreshold, type ThresholdParams, type ThresholdState } from '../../detectors/threshold.js';

/** Most subjects one node tracks; beyond it the longest-quiet "ok" subjects are forgotten. */
export const MAX_SUBJECTS = 100_000;

export type ThresholdSettings = ThresholdParams;

/** What the editor gives: numbers as text, any of them empty, and a duration like "5m". */
export interface ThresholdSettingsInput {
  above?: string | number;
  below?: string | number;
  clearBelow?: string | number;
  clearAbove?: string | number;
  for?: string;
  consecutive?: string | number;
}

/**
 * Validates the node's settings as the bounds of a city rule: the rule schema is the one place
 * that says what a valid threshold is (a bound, the clearing side of it, a duration), so the
 * node borrows it with placeholder names rather than restating it.
 */
export function parseThresholdSettings(input: ThresholdSettingsInput): ThresholdSettings {
  const num = (v: string | number | undefined): number | string | undefined => (v === undefined || v === '' ? undefined : typeof v === 'number' ? v : Number.isNaN(Number(v)) ? v : Number(v));
  const candidate = {
    id: 'node-red',
    kind: 'threshold',
    metric: 'value',
    grade: 'D',
    category: 'node-red',
    above: num(input.above),
    below: num(input.below),
    clearBelow: num(input.clearBelow),
    clearAbove: num(input.clearAbove),
    for: input.for?.trim() ? input.for.trim() : '0s',
    consecutive: num(input.consecutive),
  };
  const parsed = ThresholdRule.safeParse(candidate);
  if (!parsed.success) throw new Error(describeZodError(parsed.error));
  const { above, below, clearBelow, clearAbove, for: forMs, consecutive } = parsed.data;
  return { above, below, clearBelow, clearAbove, for: forMs, consecutive };
}

export interface ThresholdTransition {
  status: 'firing' | 'resolved';
  /** Event time the breach began: the alert's start. */
  startsAt: number;
  /** The bound crossed (firing) or the rule's bound (resolved), for display. */
  bound: number | undefined;
  value: number;
  ts: number;
}

/** Threshold state per subject. Entries can be saved and restored (Node-RED context). */
export class ThresholdTracker {
  private readonly states: Map<string, ThresholdState>;

  constructor(
    readonly settings: ThresholdSettings,
    saved: readonly (readonly [string, ThresholdState])[] = [],
  ) {
    this.states = new Map(saved);
  }

  /** Feeds one reading; returns the transition it caused, if any. */
  evaluate(subject: string, value: number, ts: number): ThresholdTransition | undefined {
    const prev = this.states.get(subject);
    const { state, transition } = evaluateThreshold(this.settings, prev, value, ts);
    if (state !== prev) {
      // Re-inserting keeps the map in last-touched order, so eviction takes the quietest.
      this.states.delete(subject);
      this.states.set(subject, state);
      if (this.states.size > MAX_SUBJECTS) this.evictOne();
    }
    if (!transition) return undefined;
    return { status: transition, startsAt: transition === 'firing' ? state.since : prev!.since, bound: crossedBound(this.settings, value), value, ts };
  }

  /** Subjects per phase, for the node's status. */
  counts(): { pending: number; firing: number } {
    let pending = 0;
    let firing = 0;
    for (const s of this.states.values()) {
      if (s.phase === 'pending') pending++;
      else if (s.phase === 'firing') firing++;
    }
    return { pending, firing };
  }

  entries(): [string, ThresholdState][] {
    return [...this.states.entries()];
  }

  private evictOne(): void {
    for (const [subject, s] of this.states) {
      if (s.phase === 'ok') {
        this.states.delete(subject);
        return;
      }
    }
  }
}
