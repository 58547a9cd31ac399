/**
 * Grading, pure: the grade a ticket carries is its rule's grade raised by the risk of the zone it
 * is in and by how big the incident has grown (devices, firings), per the city's grading table.
 */
import type { GradingTable, ZoneRisk } from '../city.js';
import type { Grade } from '../schemas.js';

/** Lowest to highest: D grid, C community, B street sub-center, A district joint handling. */
export const GRADE_ORDER: readonly Grade[] = ['D', 'C', 'B', 'A'];

export function gradeRank(g: Grade): number {
  return GRADE_ORDER.indexOf(g);
}

export function higherGrade(a: Grade, b: Grade): Grade {
  return gradeRank(a) >= gradeRank(b) ? a : b;
}

export interface GradeInput {
  /** The highest rule grade among the ticket's alerts. */
  base: Grade;
  /** Risk of the zone the ticket is in, if any. */
  zoneRisk: ZoneRisk | undefined;
  /** Distinct devices that fired. */
  devices: number;
  /** Firings merged into the ticket. */
  alerts: number;
}

export interface GradeResult {
  grade: Grade;
  /** One line per raise that applied, for the ticket and its timeline. */
  reasons: string[];
}

/**
 * Zone raise plus the largest aggregation raise the ticket meets (rows are alternatives, not
 * cumulative: a storm of 10 devices is not also counted as one of 3), capped at `maxRaise`
 * and at grade A.
 */
export function gradeTicket(input: GradeInput, table: GradingTable): GradeResult {
  const reasons: string[] = [];
  let raise = 0;
  const zoneRaise = input.zoneRisk ? table.zoneRisk[input.zoneRisk] : 0;
  if (zoneRaise > 0) {
    raise += zoneRaise;
    reasons.push(`zone risk ${input.zoneRisk}: +${zoneRaise}`);
  }
  let best: { raise: number; why: string } | undefined;
  for (const row of table.aggregation) {
    const meetsDevices = row.minDevices === undefined || input.devices >= row.minDevices;
    const meetsAlerts = row.minAlerts === undefined || input.alerts >= row.minAlerts;
    if (!meetsDevices || !meetsAlerts || (best && best.raise >= row.raise)) continue;
    const parts: string[] = [];
    if (row.minDevices !== undefined) parts.push(`${input.devices} devices >= ${row.minDevices}`);
    if (row.minAlerts !== undefined) parts.push(`${input.alerts} alerts >= ${row.minAlerts}`);
    best = { raise: row.raise, why: `${parts.join(' and ')}: +${row.raise}` };
  }
  if (best) {
    raise += best.raise;
    reasons.push(best.why);
  }
  if (raise > table.maxRaise) {
    reasons.push(`capped at +${table.maxRaise}`);
    raise = table.maxRaise;
  }
  const rank = Math.min(GRADE_ORDER.length - 1, gradeRank(input.base) + raise);
  return { grade: GRADE_ORDER[rank]!, reasons };
}
