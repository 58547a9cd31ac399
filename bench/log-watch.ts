/**
 * What the platform's log did during a window: publishes it refused (their connections then
 * closed) and the backlog of each topic, sampled. A refusal with a topic's backlog at its bound
 * means a stage fell behind; with small backlogs, a burst of publishes arrived at once (after a
 * stall of the event loop) beyond what may wait for room. Batches, retention steps and collector
 * pauses longer than 50 ms in the window say what held the event loop; each sample period in which
 * the loop was held for 100 ms or more is kept with those that grew during it, so a stall in an
 * hour's tail is seen with what was running then.
 */
import { quantileBetween, type Buckets } from './stats.js';
import type { SutStats } from './sut.js';

export interface Refusals {
  /** When the sample ended (seconds since the window began), how many, and the backlog per topic then. */
  at: number;
  count: number;
  backlog: Record<string, number>;
}

/** A sample period in which the event loop was held for STALL_MS or more. */
export interface Stall {
  /** When the sample ended, in seconds since the window began. */
  at: number;
  /** The longest delay of the event loop in the period, ms. */
  loopDelayMs: number;
  /** The long steps (SutStats.longSteps) that grew in the period, by name. */
  steps: Record<string, number>;
}

export interface LogWatchResult {
  refusedPublishes: number;
  refusals: Refusals[];
  /** The largest backlog each topic had in a sample. */
  backlogMax: Record<string, number>;
  /** Batches and retention steps longer than 50 ms during the window, by what took them (SutStats.longSteps). */
  longSteps?: Record<string, number>;
  /**
   * The p99 of each stage's lag (`streetwatch_stage_lag_seconds`, from a publish reaching the
   * broker to the stage being done with it) over the window, as the upper bound of its bucket, in
   * milliseconds: which hop a long webhook tail gathered its time in.
   */
  stageLagP99Ms?: Record<string, number>;
  /** The longest delay of the event loop in the window, ms. */
  loopDelayMaxMs?: number;
  /** How many sample periods held the event loop for STALL_MS or more, and the longest of them (longest first). */
  stallCount?: number;
  stalls?: Stall[];
}

/** A delay of the event loop this long (ms) is a stall: twice the p99 the latency target allows. */
export const STALL_MS = 100;
/** At most this many stalls are kept (the longest); the count has them all. */
const MAX_STALLS_KEPT = 20;

/** At most this many sample periods with refusals are kept (the first ones); the total counts them all. */
const MAX_REFUSALS_KEPT = 100;

export class LogWatch {
  private readonly t0 = performance.now();
  private refused: number | undefined;
  private first = 0;
  private readonly refusals: Refusals[] = [];
  private readonly backlogMax: Record<string, number> = {};
  private longAtStart: Record<string, number> | undefined;
  private longNow: Record<string, number> = {};
  private lagAtStart: Buckets | undefined;
  private lagNow: Buckets = {};
  private loopDelayMaxMs = 0;
  private stallCount = 0;
  private stalls: Stall[] = [];

  constructor(private readonly stats: () => Promise<SutStats>) {}

  /** Takes a sample; the first one sets where counting starts. */
  async sample(): Promise<void> {
    const stats = await this.stats();
    for (const [topic, n] of Object.entries(stats.backlog)) this.backlogMax[topic] = Math.max(this.backlogMax[topic] ?? 0, n);
    // The first sample's delay is from before the window (the platform's start): it only sets where counting starts.
    if (this.longAtStart !== undefined) {
      if (stats.loopDelayMaxMs >= STALL_MS) this.stalled(stats);
      this.loopDelayMaxMs = Math.max(this.loopDelayMaxMs, stats.loopDelayMaxMs);
    }
    this.longAtStart ??= stats.longSteps;
    this.longNow = stats.longSteps;
    this.lagAtStart ??= stats.stageLag;
    this.lagNow = stats.stageLag;
    if (this.refused === undefined) this.first = this.refused = stats.refusedPublishes;
    if (stats.refusedPublishes === this.refused) return;
    if (this.refusals.length < MAX_REFUSALS_KEPT) this.refusals.push({ at: Math.round((performance.now() - this.t0) / 1000), count: stats.refusedPublishes - this.refused, backlog: stats.backlog });
    this.refused = stats.refusedPublishes;
  }

  private stalled(stats: SutStats): void {
    const steps: Record<string, number> = {};
    for (const [name, n] of Object.entries(stats.longSteps)) {
      const grew = n - (this.longNow[name] ?? 0);
      if (grew > 0) steps[name] = grew;
    }
    this.stallCount++;
    this.stalls.push({ at: Math.round((performance.now() - this.t0) / 1000), loopDelayMs: Math.round(stats.loopDelayMaxMs), steps });
    this.stalls.sort((a, b) => b.loopDelayMs - a.loopDelayMs);
    this.stalls.length = Math.min(this.stalls.length, MAX_STALLS_KEPT);
  }

  /**
   * Takes a sample and counts long steps and stage lags from it on (refusals still count from the
   * first sample): the measured window after a warm-up whose transient it should not report.
   */
  async measureFromHere(): Promise<void> {
    await this.sample();
    this.longAtStart = this.longNow;
    this.lagAtStart = this.lagNow;
    this.loopDelayMaxMs = 0;
    this.stallCount = 0;
    this.stalls = [];
  }

  get refusedSoFar(): number {
    return (this.refused ?? this.first) - this.first;
  }

  result(): LogWatchResult {
    const longSteps: Record<string, number> = {};
    for (const [name, n] of Object.entries(this.longNow)) {
      const during = n - (this.longAtStart?.[name] ?? 0);
      if (during > 0) longSteps[name] = during;
    }
    const stageLagP99Ms = Object.fromEntries(Object.entries(quantileBetween(this.lagAtStart ?? {}, this.lagNow, 0.99)).map(([stage, s]) => [stage, s * 1000]));
    return { refusedPublishes: this.refusedSoFar, refusals: this.refusals, backlogMax: this.backlogMax, longSteps, stageLagP99Ms, loopDelayMaxMs: this.loopDelayMaxMs, stallCount: this.stallCount, stalls: this.stalls };
  }
}
