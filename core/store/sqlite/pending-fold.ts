import type { RollupPoint } from '../../ports.js';
import { stepStart } from '../../retention/rollup.js';
import type { Reading } from '../../schemas.js';

/**
 * 5-minute steps held in memory at most: some 250 bytes each, so about 25 MiB. A fleet that
 * keeps more series busy between two folds is folded from the table instead (SqliteSeriesStore).
 */
export const MAX_PENDING_STEPS = 100_000;

/**
 * The readings stored since the fold mark, folded into their 5-minute steps as they are written:
 * the roll-up fold then writes these steps (and the hours they make) instead of reading every
 * reading back from the table. It holds only what it can prove complete: readings are counted by
 * rowid, and a fold may use the steps only if every rowid between the mark and the newest
 * reading was added. Anything else (a reading stored by another connection, a process restarted
 * since the mark, more steps than MAX_PENDING_STEPS) leaves the fold reading the table back, as
 * it always can.
 */
export class PendingFold {
  /** Rowids up to here are folded, or being folded from the table: never added. */
  private base: number;
  private added = 0;
  private overflow = false;
  private readonly steps = new Map<string, RollupPoint>();

  constructor(
    base: number,
    private readonly maxSteps = MAX_PENDING_STEPS,
  ) {
    this.base = base;
  }

  /** Readings just committed under these rowids (`ids[i]` is `readings[i]`'s). */
  add(ids: readonly number[], readings: readonly Reading[]): void {
    for (let i = 0; i < ids.length; i++) {
      if (ids[i]! <= this.base) continue;
      this.added++;
      if (!this.overflow) this.fold(readings[i]!);
    }
  }

  private fold(r: Reading): void {
    const start = stepStart(r.ts, '5m');
    const key = `${r.deviceId}\u0000${r.metric}\u0000${start}`;
    const p = this.steps.get(key);
    if (p === undefined) {
      if (this.steps.size >= this.maxSteps) {
        this.overflow = true;
        this.steps.clear();
        return;
      }
      this.steps.set(key, { deviceId: r.deviceId, metric: r.metric, start, count: 1, min: r.value, max: r.value, sum: r.value, last: r.value, lastTs: r.ts, unit: r.unit, loc: r.loc });
      return;
    }
    p.count++;
    if (r.value < p.min) p.min = r.value;
    if (r.value > p.max) p.max = r.value;
    p.sum += r.value;
    // The newest wins, with its unit and place (or their absence), as in combine().
    if (r.ts >= p.lastTs) {
      p.last = r.value;
      p.lastTs = r.ts;
      p.unit = r.unit;
      p.loc = r.loc;
    }
  }

  /** The 5-minute steps of every reading in (folded, newest], or undefined if some are not here. */
  complete(folded: number, newest: number): RollupPoint[] | undefined {
    if (this.overflow || folded !== this.base || this.added !== newest - folded) return undefined;
    return [...this.steps.values()];
  }

  /** Starts again from a new mark: what is held is folded, or will be from the table. */
  reset(base: number): void {
    this.base = base;
    this.added = 0;
    this.overflow = false;
    this.steps.clear();
  }

  get size(): number {
    return this.steps.size;
  }
}
