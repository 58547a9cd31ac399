/**
 * The detector rules of a city (`rules.yaml`): one schema per kind, told apart by `kind`
 * (`threshold` when absent, so rules written before kinds existed stay valid). docs/DETECTORS.md
 * is the reference for operators; the schemas here are the contract.
 */
import { z } from 'zod';
import { Duration } from './duration.js';
import { EntityId, Grade, METRIC_RE, MetricName } from './schemas.js';

export const ZoneRisk = z.enum(['high', 'medium', 'low']);
export type ZoneRisk = z.infer<typeof ZoneRisk>;

export const ZoneSelector = z.strictObject({
  ids: z.array(EntityId).min(1).max(1000).optional(),
  kind: z.string().max(64).optional(),
  tags: z.array(z.string().max(64)).min(1).max(32).optional(),
  risk: z.union([ZoneRisk, z.array(ZoneRisk).min(1)]).optional(),
});
export type ZoneSelector = z.infer<typeof ZoneSelector>;

/** Most per-zone overrides one rule may carry. */
const MAX_OVERRIDES = 100;

const Label = z.string().min(1).max(64);

const common = {
  id: EntityId,
  name: z.string().max(128).optional(),
  /** Only readings or events inside a matching zone count; without it, every place does. */
  zones: ZoneSelector.optional(),
  grade: Grade,
  category: Label,
  /** The responsible department; without it, the category's in city.yaml. */
  department: Label.optional(),
};

type Ctx = z.RefinementCtx;
type Path = (string | number)[];

/** An override is the rule with some tunables replaced: check the result like a rule. */
function checkOverrides<R extends { overrides?: readonly object[] | undefined }>(rule: R, ctx: Ctx, check: (merged: R, ctx: Ctx, at: Path) => void): void {
  rule.overrides?.forEach((o, i) => check({ ...rule, ...o }, ctx, ['overrides', i]));
}

// ---------------------------------------------------------------------------------------
// threshold

const thresholdTunables = {
  above: z.number().optional(),
  below: z.number().optional(),
  clearBelow: z.number().optional(),
  clearAbove: z.number().optional(),
  /** The breach must hold this long, by the readings' timestamps, before the rule fires. */
  for: Duration.optional(),
  /** ...and this many readings in a row must breach. */
  consecutive: z.number().int().min(1).max(10_000).optional(),
  grade: Grade.optional(),
};

export interface ThresholdBounds {
  above?: number | undefined;
  below?: number | undefined;
  clearBelow?: number | undefined;
  clearAbove?: number | undefined;
}

function checkBounds(r: ThresholdBounds, ctx: Ctx, at: Path = []): void {
  if (r.above === undefined && r.below === undefined) {
    ctx.addIssue({ code: 'custom', path: [...at, 'above'], message: 'a threshold needs "above" or "below"' });
  }
  if (r.clearBelow !== undefined && (r.above === undefined || r.clearBelow > r.above)) {
    ctx.addIssue({ code: 'custom', path: [...at, 'clearBelow'], message: '"clearBelow" needs "above" and must not exceed it' });
  }
  if (r.clearAbove !== undefined && (r.below === undefined || r.clearAbove < r.below)) {
    ctx.addIssue({ code: 'custom', path: [...at, 'clearAbove'], message: '"clearAbove" needs "below" and must not be less than it' });
  }
  if (r.above !== undefined && r.below !== undefined && r.below >= r.above) {
    ctx.addIssue({ code: 'custom', path: [...at, 'below'], message: 'with both bounds the rule fires outside [below, above], so "below" must be less than "above"' });
  }
}

export const ThresholdRule = z
  .strictObject({
    ...common,
    kind: z.literal('threshold'),
    metric: MetricName,
    ...thresholdTunables,
    for: Duration.default(0),
    consecutive: thresholdTunables.consecutive.default(1),
    grade: Grade,
    overrides: z.array(z.strictObject({ zones: ZoneSelector, ...thresholdTunables })).max(MAX_OVERRIDES).optional(),
  })
  .superRefine((r, ctx) => {
    checkBounds(r, ctx);
    checkOverrides(r, ctx, checkBounds);
  });
export type ThresholdRule = z.infer<typeof ThresholdRule>;

// ---------------------------------------------------------------------------------------
// rate of change

const PositiveDuration = Duration.refine((ms) => ms > 0, 'must be longer than 0');

const rateTunables = {
  /** Fires when the value rose more than this within the window. */
  rise: z.number().positive().optional(),
  /** Fires when the value fell more than this within the window. */
  fall: z.number().positive().optional(),
  within: PositiveDuration.optional(),
  /** Resolves once the rise within the window is at most this (default `rise`). */
  clearRise: z.number().nonnegative().optional(),
  clearFall: z.number().nonnegative().optional(),
  grade: Grade.optional(),
};

function checkRate(r: z.infer<z.ZodObject<typeof rateTunables>>, ctx: Ctx, at: Path = []): void {
  if (r.rise === undefined && r.fall === undefined) ctx.addIssue({ code: 'custom', path: [...at, 'rise'], message: 'a rate rule needs "rise" or "fall"' });
  if (r.clearRise !== undefined && (r.rise === undefined || r.clearRise > r.rise)) {
    ctx.addIssue({ code: 'custom', path: [...at, 'clearRise'], message: '"clearRise" needs "rise" and must not exceed it' });
  }
  if (r.clearFall !== undefined && (r.fall === undefined || r.clearFall > r.fall)) {
    ctx.addIssue({ code: 'custom', path: [...at, 'clearFall'], message: '"clearFall" needs "fall" and must not exceed it' });
  }
}

export const RateRule = z
  .strictObject({
    ...common,
    kind: z.literal('rate'),
    metric: MetricName,
    ...rateTunables,
    within: PositiveDuration,
    grade: Grade,
    overrides: z.array(z.strictObject({ zones: ZoneSelector, ...rateTunables })).max(MAX_OVERRIDES).optional(),
  })
  .superRefine((r, ctx) => {
    checkRate(r, ctx);
    checkOverrides(r, ctx, checkRate);
  });
export type RateRule = z.infer<typeof RateRule>;

// ---------------------------------------------------------------------------------------
// deadman

/** A device that stops reporting is a fault for the grid to check: grade D by default. */
export const DEADMAN_DEFAULTS = { grade: 'D', category: 'device-fault' } as const;

export const DeadmanRule = z.strictObject({
  ...common,
  kind: z.literal('deadman'),
  /** Silence, by arrival time, after which the rule fires. */
  after: PositiveDuration,
  /** Only readings of this metric count as data; any reading does without it. */
  metric: MetricName.optional(),
  /** `device`: each device on its own; `zone`: fires when no device in the zone reported. */
  per: z.enum(['device', 'zone']).default('device'),
  grade: Grade.default(DEADMAN_DEFAULTS.grade),
  category: Label.default(DEADMAN_DEFAULTS.category),
  overrides: z.array(z.strictObject({ zones: ZoneSelector, after: PositiveDuration.optional(), grade: Grade.optional() })).max(MAX_OVERRIDES).optional(),
});
export type DeadmanRule = z.infer<typeof DeadmanRule>;

// ---------------------------------------------------------------------------------------
// camera event

const cameraTunables = {
  minScore: z.number().min(0).max(1).optional(),
  minCount: z.number().int().min(0).optional(),
  /** The object (or the run of events) must be present this long before the rule fires. */
  for: Duration.optional(),
  grade: Grade.optional(),
};

/** Without an `end`, a detection counts as gone after this much quiet (event time). */
export const DEFAULT_CAMERA_CLEAR_AFTER_MS = 5 * 60_000;

export const CameraRule = z.strictObject({
  ...common,
  kind: z.literal('camera'),
  /** Event types that count: `fire`, `smoke`, `person`, `crowd`, `illegal_parking`... */
  types: z.array(z.string().regex(METRIC_RE, 'must match ^[a-z][a-z0-9_]{0,63}$')).min(1).max(64),
  /** Only events in one of these camera-defined zones (Frigate `entered_zones`) count. */
  cameraZones: z.array(z.string().min(1).max(64)).min(1).max(32).optional(),
  ...cameraTunables,
  for: Duration.default(0),
  clearAfter: PositiveDuration.default(DEFAULT_CAMERA_CLEAR_AFTER_MS),
  grade: Grade,
  overrides: z.array(z.strictObject({ zones: ZoneSelector, ...cameraTunables })).max(MAX_OVERRIDES).optional(),
});
export type CameraRule = z.infer<typeof CameraRule>;

// ---------------------------------------------------------------------------------------
// composite

export const CompositeCondition = z
  .strictObject({
    metric: MetricName,
    above: z.number().optional(),
    below: z.number().optional(),
    clearBelow: z.number().optional(),
    clearAbove: z.number().optional(),
    /** Distinct devices of the zone that must meet the condition at once. */
    devices: z.number().int().min(1).max(1000).default(1),
  })
  .superRefine((c, ctx) => checkBounds(c, ctx));
export type CompositeCondition = z.infer<typeof CompositeCondition>;

export const CompositeRule = z.strictObject({
  ...common,
  kind: z.literal('composite'),
  /** `all`: every condition; `any`: at least one. */
  match: z.enum(['all', 'any']).default('all'),
  conditions: z.array(CompositeCondition).min(1).max(16),
  /** Readings older than this (behind the zone's newest) no longer count. */
  within: PositiveDuration,
});
export type CompositeRule = z.infer<typeof CompositeRule>;

// ---------------------------------------------------------------------------------------

export const RULE_KINDS = ['threshold', 'rate', 'deadman', 'camera', 'composite'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const Rule = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'threshold' } : v),
  z.discriminatedUnion('kind', [ThresholdRule, RateRule, DeadmanRule, CameraRule, CompositeRule]),
);
export type Rule = z.infer<typeof Rule>;

export const RulesFile = z.strictObject({
  rules: z
    .array(Rule)
    .max(10_000)
    .superRefine((rules, ctx) => {
      const seen = new Set<string>();
      rules.forEach((r, i) => {
        if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate rule id "${r.id}"` });
        seen.add(r.id);
      });
    }),
});

/** Zone selectors of a rule, with their path in the rule, for checking zone ids. */
export function ruleSelectors(rule: Rule): { at: (string | number)[]; selector: ZoneSelector }[] {
  const out: { at: (string | number)[]; selector: ZoneSelector }[] = [];
  if (rule.zones) out.push({ at: ['zones'], selector: rule.zones });
  if ('overrides' in rule) rule.overrides?.forEach((o, i) => out.push({ at: ['overrides', i, 'zones'], selector: o.zones }));
  return out;
}
