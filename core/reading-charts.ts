/**
 * What `GET /api/devices/{id}/readings` answers besides the window: shared by the API, which
 * builds it, and the console, which draws it.
 */

/** A threshold rule as it applies at the device's place, for drawing on its charts. */
export interface ThresholdView {
  ruleId: string;
  name: string | null;
  metric: string;
  above: number | null;
  below: number | null;
  /** Where a firing alert clears: `clearBelow` (default `above`), `clearAbove` (default `below`). */
  clearBelow: number | null;
  clearAbove: number | null;
  /** The risk zone the rule applies in there (its override, if any, is in the numbers). */
  zoneId: string | null;
}

/** One metric of a device, for a chart. */
export interface ReadingSeries {
  metric: string;
  unit: string | null;
  /** `[ts, value]`, oldest first. */
  points: [number, number][];
}
