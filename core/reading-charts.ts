/**
 * What `GET /api/devices/{id}/readings` answers besides the window: shared by the API, which
 * builds it, and the console, which draws it. zod schemas: the OpenAPI document is generated
 * from them (core/api-schemas.ts).
 */
import { z } from 'zod';

/** A threshold rule as it applies at the device's place, for drawing on its charts. */
export const ThresholdView = z.object({
  ruleId: z.string(),
  name: z.string().nullable(),
  metric: z.string(),
  above: z.number().nullable(),
  below: z.number().nullable(),
  /** Where a firing alert clears: `clearBelow` (default `above`), `clearAbove` (default `below`). */
  clearBelow: z.number().nullable(),
  clearAbove: z.number().nullable(),
  /** The risk zone the rule applies in there (its override, if any, is in the numbers). */
  zoneId: z.string().nullable(),
});
export type ThresholdView = z.infer<typeof ThresholdView>;

/** One metric of a device, for a chart. */
export const ReadingSeries = z.object({
  metric: z.string(),
  unit: z.string().nullable(),
  /** `[ts, value]`, oldest first; from roll-ups, `ts` is a step's start and `value` its mean. */
  points: z.array(z.tuple([z.number(), z.number()])),
  /** From roll-ups only: `[ts, min, max]` of each step, beside its point. */
  extremes: z.array(z.tuple([z.number(), z.number(), z.number()])).optional(),
});
export type ReadingSeries = z.infer<typeof ReadingSeries>;
