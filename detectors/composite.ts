/**
 * The composite rule: conditions over several devices of one zone, within a time window
 * (smoke and heat in the same building → fire; three water sensors high in one tunnel). Pure:
 * the engine loads and saves the state (one per rule and zone), this decides.
 *
 * - Each device's standing on each condition is that of its newest reading of the condition's
 *   metric, with the condition's own hysteresis (`above`/`clearBelow`, `below`/`clearAbove`).
 * - A condition holds when at least `devices` distinct devices breach it with a reading no
 *   older than `within` behind the zone's newest reading (the zone's event time).
 * - The rule fires when all (or any) conditions hold, and resolves when they no longer do.
 * - A reading at or before the device's previous one for that condition (duplicate, late), or
 *   older than the window, does not count.
 *
 * Evaluation happens when a reading arrives in the zone: a zone that falls silent keeps its
 * last verdict (the deadman rule is what notices silence).
 *
 * What the state remembers, so that a reading costs the same in a zone of ten devices or ten
 * thousand: per condition, the devices that breach it and those that stopped breaching it,
 * inside the window; a device that has not breached within the window is not in it (it would
 * only ever say "not breaching", which is what no standing says). A reading that changes
 * nothing (a quiet device staying quiet at or before the zone's time, a duplicate) returns the
 * state it was given, and the engine then writes nothing; one that only moves the zone's time
 * changes `now` (the engine writes a key once per batch, whatever its readings).
 *
 * Two corners follow, both about readings that arrive out of order, not duplicates:
 * - A device remembered as cleared keeps the time of its clearing reading while its later
 *   readings stay quiet (moving it would keep every device that once breached in the state for
 *   as long as it reports). A redelivered copy of any of its readings is still recognised
 *   (at or before the clearing one: not counted; after it: quiet again, no change); a reading
 *   it never sent before, older than its newest but newer than its clearing one, is judged as new.
 * - Of a device not remembered, likewise: a breaching reading older than its newest quiet one
 *   counts, until a reading of the device clears it.
 * Quiet readings out of order change nothing either way (composite-equivalence.test.ts holds
 * the decisions to those of the version that remembered every device).
 * As before, a reading older than the window never counts, and nothing about a device is kept
 * past the window.
 *
 * Bound: at most `devices` + COMPOSITE_STANDINGS_MARGIN standings per condition. When a
 * condition's list is full, a newly breaching device takes the place of the oldest cleared
 * standing, or is not remembered if all breach: the condition holds already, with a margin of
 * COMPOSITE_STANDINGS_MARGIN devices. A place frees when a remembered device clears or falls
 * out of the window, and the next breaching reading of a device not remembered takes it. So the
 * rule resolves early only if more than the margin of remembered devices clear before any of
 * the others reports its breach again (and fires again at that report); and a device not
 * remembered is judged without its hysteresis (breaching again only past `above`/`below`).
 */
import type { CompositeRule } from '../core/rules.js';
import { isBreach, isClear } from './threshold.js';

/** [deviceId, event time, breaching (1) or not (0)] */
type Standing = [string, number, 0 | 1];

export interface CompositeState {
  phase: 'ok' | 'firing';
  since: number;
  /** The zone's event time: the newest reading counted. */
  now: number;
  /**
   * Per condition, the breaching and cleared devices' newest standings inside the window.
   * State written before the bound existed may hold quiet devices as well: they leave with the
   * window like any standing, and a list past the bound is cut down at its next change.
   */
  standings: Standing[][];
}

/**
 * Standings kept per condition beyond the `devices` it needs: a storm that makes thousands of
 * devices of one zone breach keeps the state (written on every change) at some 30 bytes a
 * standing, 2 KiB for a condition of 3 devices.
 */
export const COMPOSITE_STANDINGS_MARGIN = 64;

export type CompositeParams = Pick<CompositeRule, 'match' | 'conditions' | 'within'>;

export interface CompositeOutcome {
  state: CompositeState;
  transition: 'firing' | 'resolved' | undefined;
}

export function evaluateComposite(
  rule: CompositeParams,
  prev: CompositeState | undefined,
  reading: { deviceId: string; metric: string; value: number; ts: number },
): CompositeOutcome {
  const base: CompositeState = prev ?? { phase: 'ok', since: reading.ts, now: reading.ts, standings: rule.conditions.map(() => []) };
  if (reading.ts < base.now - rule.within) return { state: base, transition: undefined };
  const { conditions } = rule;
  let counted = false;
  // Copied on the first change only: most readings change no list.
  let standings: Standing[][] | undefined;
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    if (c.metric !== reading.metric) continue;
    const max = c.devices + COMPOSITE_STANDINGS_MARGIN;
    const stored = base.standings[i] ?? [];
    const list = stored.length > max ? bounded(stored, max) : stored;
    const j = indexOf(list, reading.deviceId);
    const before = j < 0 ? undefined : list[j]!;
    let next = list;
    if (!before || reading.ts > before[1]) {
      counted = true;
      const breaching = before?.[2] === 1 ? !isClear(c, reading.value) : isBreach(c, reading.value);
      next = remember(list, j, breaching ? 1 : 0, reading, max);
    }
    if (next !== stored) (standings ??= copy(rule, base))[i] = next;
  }
  if (!counted) return { state: standings ? { ...base, standings } : base, transition: undefined };

  const now = Math.max(base.now, reading.ts);
  // Standings were all inside the window at `base.now`, and a new one is inside it at `now`:
  // only a zone time that moved can leave some behind.
  if (now > base.now) {
    const from = now - rule.within;
    for (let i = 0; i < conditions.length; i++) {
      const list = (standings ?? base.standings)[i] ?? [];
      if (list.some((s) => s[1] < from)) (standings ??= copy(rule, base))[i] = list.filter((s) => s[1] >= from);
    }
  }
  if (now === base.now && !standings) return { state: base, transition: undefined };

  const lists = standings ?? base.standings;
  const holds = conditions.map((c, i) => breachingCount(lists[i] ?? []) >= c.devices);
  const met = rule.match === 'all' ? holds.every(Boolean) : holds.some(Boolean);
  const state: CompositeState = { phase: base.phase, since: base.since, now, standings: lists };

  if (base.phase === 'ok' && met) return { state: { ...state, phase: 'firing', since: reading.ts }, transition: 'firing' };
  if (base.phase === 'firing' && !met) return { state: { ...state, phase: 'ok' }, transition: 'resolved' };
  return { state, transition: undefined };
}

/** One list per condition of the rule, those of `state` shared. */
function copy(rule: CompositeParams, state: CompositeState): Standing[][] {
  return rule.conditions.map((_, i) => state.standings[i] ?? []);
}

function indexOf(list: readonly Standing[], deviceId: string): number {
  for (let k = 0; k < list.length; k++) if (list[k]![0] === deviceId) return k;
  return -1;
}

/** The list after a counted reading of the device at `j` (-1: not in the list); the same list when nothing changes. */
function remember(list: Standing[], j: number, breaching: 0 | 1, reading: { deviceId: string; ts: number }, max: number): Standing[] {
  // Quiet and not kept, or cleared and still quiet (the clearing reading's time stays: see the
  // corners above): nothing to remember.
  if (breaching === 0 && (j < 0 || list[j]![2] === 0)) return list;
  const next: Standing = [reading.deviceId, reading.ts, breaching];
  if (j >= 0) return list.map((s, k) => (k === j ? next : s));
  if (list.length < max) return [...list, next];
  let oldest = -1;
  list.forEach((s, k) => {
    if (s[2] === 0 && (oldest < 0 || s[1] < list[oldest]![1])) oldest = k;
  });
  return oldest < 0 ? list : list.map((s, k) => (k === oldest ? next : s));
}

/** A list cut down to `max`: breaching standings first, the newest of each kind. */
function bounded(list: Standing[], max: number): Standing[] {
  return [...list].sort((a, b) => b[2] - a[2] || b[1] - a[1]).slice(0, max);
}

function breachingCount(list: readonly Standing[]): number {
  let n = 0;
  for (const s of list) n += s[2];
  return n;
}
