/**
 * Backtest: replays stored readings through a set of rules and counts, per rule and zone, the
 * alerts and tickets they would have produced. Nothing live is touched: rule state lives in
 * memory, and the store is only queried.
 *
 * - Readings are replayed in event-time order, each as if it arrived when it was measured, and
 *   placed again with the zones being tried (so a zone drawn yesterday counts for last month's
 *   data). Late arrivals therefore count where live detection ignored them.
 * - Time passes with the readings, ticking for deadman rules between them; silence after the
 *   last reading runs to `to`.
 * - Camera rules are not replayed: camera events are not kept in the time-series store.
 * - Periods whose raw readings are pruned are replayed from the roll-ups: each step as its
 *   extremes and its last value (replayReadings), so thresholds see the peaks; durations and
 *   rates there are only as fine as the step. The result counts readings per resolution.
 * - Tickets follow alerting's merge key (`mergeKeyOf`: one kind of problem in one zone, or one
 *   device outside zones): a firing alert opens a ticket unless one with its key is open. A
 *   ticket counts as closed once all its alerts resolved and a hold passed: by default the
 *   shortest `holdFor` of the SLA among the grades it could be raised to. A real ticket also
 *   waits for its holder's resolution, and alerts outside zones may merge by proximity too, so
 *   more would merge: the count is an upper bound.
 */
import { mergeKeyOf } from '../core/tickets/lifecycle.js';
import type { CityIndex } from '../core/city-index.js';
import type { Resolution, SeriesStore } from '../core/ports.js';
import { historyPages } from '../core/retention/series-read.js';
import type { RuleKind } from '../core/rules.js';
import type { Alert, Grade, Reading } from '../core/schemas.js';
import { MemoryKeyValueStore } from '../core/store/memory-kv.js';
import { RuleEngine } from './engine.js';

/** Readings fetched per query; a denser time slice is split until it fits. */
export const DEFAULT_BACKTEST_PAGE = 20_000;
/** Replay tick bounds for time-driven rules. */
const MIN_REPLAY_TICK_MS = 1_000;
const MAX_REPLAY_TICK_MS = 60_000;

export interface BacktestOptions {
  series: SeriesStore;
  /** The city with the rules to try. */
  city: CityIndex;
  from: number;
  to: number;
  /**
   * How long after its last alert resolved a ticket stays open and takes new alerts; by default
   * the SLA's shortest `holdFor` at or above the grade of the alert that opened it.
   */
  holdMs?: number;
  pageSize?: number;
  /** Called after each page, for progress. */
  onProgress?: (replayedTo: number, readings: number) => void;
}

export interface BacktestRow {
  ruleId: string;
  kind: RuleKind;
  /** null: outside every zone. */
  zoneId: string | null;
  /** Firing alerts. */
  alerts: number;
  resolved: number;
  tickets: number;
}

export interface BacktestResult {
  from: number;
  to: number;
  readings: number;
  /** Readings replayed per resolution (`5m` and `1h`: replayed from roll-ups, see replayReadings). */
  byResolution: Partial<Record<Resolution, number>>;
  rows: BacktestRow[];
  /** Rules that could not be replayed, and why. */
  skipped: { ruleId: string; reason: string }[];
}

export async function backtest(opts: BacktestOptions): Promise<BacktestResult> {
  const { city, from, to } = opts;
  const pageSize = opts.pageSize ?? DEFAULT_BACKTEST_PAGE;
  let now = from;
  const tally = new Tally(city, opts.holdMs);
  const engine = new RuleEngine({
    kv: new MemoryKeyValueStore(),
    cityIndex: () => city,
    startedAt: from,
    clock: { now: () => now },
    emit: async (alerts) => tally.add(alerts),
  });
  const wait = engine.shortestWait();
  const tickMs = wait === undefined ? undefined : Math.min(MAX_REPLAY_TICK_MS, Math.max(MIN_REPLAY_TICK_MS, wait / 5));
  let nextTick = tickMs === undefined ? Infinity : from + tickMs;
  const advance = async (to: number): Promise<void> => {
    while (nextTick <= to) {
      now = nextTick;
      await engine.tick(nextTick);
      nextTick += tickMs!;
    }
    now = Math.max(now, to);
  };

  let count = 0;
  const byResolution: Partial<Record<Resolution, number>> = {};
  for await (const { resolution, readings: page } of historyPages(opts.series, from, to, pageSize)) {
    byResolution[resolution] = (byResolution[resolution] ?? 0) + page.length;
    // Readings between two ticks go to the engine together: the same verdicts, far fewer
    // state round trips than one reading at a time.
    let batch: Reading[] = [];
    for (const stored of page) {
      if (stored.ts >= nextTick && batch.length > 0) {
        await engine.readings(batch);
        batch = [];
      }
      await advance(stored.ts);
      batch.push(replace(city, stored));
    }
    if (batch.length > 0) await engine.readings(batch);
    count += page.length;
    opts.onProgress?.(page.at(-1)?.ts ?? to, count);
  }
  await advance(to);

  const skipped = city.city.rules.filter((r) => r.kind === 'camera').map((r) => ({ ruleId: r.id, reason: 'camera events are not kept in the time-series store' }));
  return { from, to, readings: count, byResolution, rows: tally.rows(), skipped };
}

/** The reading as the city being tried would have placed it. */
function replace(city: CityIndex, r: Reading): Reading {
  if (!r.loc) return { ...r, receivedAt: r.ts };
  const place = city.place(r.loc);
  const out: Reading = { ...r, receivedAt: r.ts, zoneIds: place.zoneIds };
  if (place.subcenterId !== undefined) out.subcenterId = place.subcenterId;
  else delete out.subcenterId;
  return out;
}

class Tally {
  private readonly counts = new Map<string, BacktestRow>();
  /** Open tickets by merge key: the fingerprints firing in each, and when it closes. */
  private readonly open = new Map<string, { firing: Set<string>; closesAt: number; holdMs: number }>();
  private readonly kinds: Map<string, RuleKind>;
  private readonly order: Map<string, number>;

  private readonly holdFor: (grade: Grade) => number;

  constructor(city: CityIndex, holdMs: number | undefined) {
    // Grades only rise (D → A): the real hold is that of the opening grade or a higher one.
    const order: Grade[] = ['D', 'C', 'B', 'A'];
    const { grades } = city.city.sla;
    this.holdFor = (grade) => holdMs ?? Math.min(...order.slice(order.indexOf(grade)).map((g) => grades[g].holdFor));
    this.kinds = new Map(city.city.rules.map((r) => [r.id, r.kind]));
    this.order = new Map(city.city.rules.map((r, i) => [r.id, i]));
    // Every rule shows, even one that never fired.
    for (const r of city.city.rules) if (r.kind !== 'camera') this.row(r.id, null);
  }

  add(alerts: readonly Alert[]): void {
    // A batch emits per-device and zone-wide alerts in two groups: merge them in time order.
    for (const a of [...alerts].sort((x, y) => x.ts - y.ts)) {
      const row = this.row(a.ruleId, a.zoneId ?? null);
      const key = mergeKeyOf(a);
      let ticket = this.open.get(key);
      if (ticket && ticket.firing.size === 0 && a.ts >= ticket.closesAt) {
        this.open.delete(key);
        ticket = undefined;
      }
      if (a.status === 'firing') {
        row.alerts++;
        if (!ticket) {
          ticket = { firing: new Set(), closesAt: Infinity, holdMs: this.holdFor(a.grade) };
          this.open.set(key, ticket);
          row.tickets++;
        }
        ticket.firing.add(a.fingerprint);
        ticket.closesAt = Infinity;
      } else {
        row.resolved++;
        if (ticket?.firing.delete(a.fingerprint) && ticket.firing.size === 0) ticket.closesAt = a.ts + ticket.holdMs;
      }
    }
  }

  rows(): BacktestRow[] {
    const rows = [...this.counts.values()];
    // A rule that fired somewhere does not need its empty "outside zones" row.
    const fired = new Set(rows.filter((r) => r.alerts > 0).map((r) => r.ruleId));
    return rows
      .filter((r) => r.alerts > 0 || r.resolved > 0 || !fired.has(r.ruleId))
      .sort((a, b) => this.order.get(a.ruleId)! - this.order.get(b.ruleId)! || (a.zoneId ?? '').localeCompare(b.zoneId ?? ''));
  }

  private row(ruleId: string, zoneId: string | null): BacktestRow {
    const k = `${ruleId}|${zoneId ?? ''}`;
    let row = this.counts.get(k);
    if (!row) this.counts.set(k, (row = { ruleId, kind: this.kinds.get(ruleId) ?? 'threshold', zoneId, alerts: 0, resolved: 0, tickets: 0 }));
    return row;
  }
}
