/**
 * Scenario files: a YAML timeline of what happens to the simulated city ("a rainstorm over the
 * Liede tunnel from +5m for 30m", "a gas leak at gas-0002 at +12m"), the fleet that watches it,
 * and how long it runs. Validated with zod; a bad file fails naming the path and the line.
 */
import fs from 'node:fs';
import YAML, { LineCounter, isNode } from 'yaml';
import { z } from 'zod';
import { ZoneSelector, type City } from '../core/city.js';
import { Duration } from '../core/duration.js';
import { StreetWatchError } from '../core/errors.js';
import { EntityId, METRIC_RE } from '../core/schemas.js';
import { formatPath } from '../core/zod-issues.js';
import type { FleetSpec, SimDevice } from './fleet.js';
import { FAULT_MODES, type Incident, type IncidentType } from './incidents.js';
import { DEVICE_KINDS, MODELS } from './models.js';

/** Longest scenario: a week of simulated time is plenty for any drill. */
export const MAX_SCENARIO_MS = 7 * 24 * 3_600_000;
/** Largest scenario file read. */
const MAX_SCENARIO_BYTES = 1024 * 1024;

/** "+5m" or "5m": an offset from the start of the run. */
const Offset = z
  .string()
  .max(32)
  .transform((s) => s.replace(/^\+/, ''))
  .pipe(Duration);

const targets = {
  /** Device ids, with or without the fleet prefix: `gas-0002` or `sim-gas-0002`. */
  devices: z.array(z.string().min(1).max(64)).min(1).max(10_000).optional(),
  /** Devices located in any of these risk zones. */
  zones: z.array(EntityId).min(1).max(1000).optional(),
  /** Devices in any of these jurisdictions. */
  subcenters: z.array(EntityId).min(1).max(1000).optional(),
};
const when = { at: Offset, for: Duration.optional() };

export const TimelineEvent = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('rainstorm'), ...when, ...targets, peak: z.number().positive().max(500).default(60) }),
  z.strictObject({ type: z.literal('fire'), ...when, ...targets }),
  z.strictObject({ type: z.literal('gas_leak'), ...when, ...targets, peak: z.number().positive().max(100).default(45) }),
  z.strictObject({ type: z.literal('manhole_open'), ...when, ...targets }),
  z.strictObject({ type: z.literal('crowd'), ...when, ...targets, count: z.number().int().min(1).max(1_000_000) }),
  z.strictObject({ type: z.literal('intrusion'), ...when, ...targets, label: z.string().regex(METRIC_RE).default('person') }),
  z.strictObject({ type: z.literal('fault'), ...when, ...targets, mode: z.enum(FAULT_MODES).default('spike') }),
  z.strictObject({ type: z.literal('dropout'), at: Offset, for: Duration, ...targets }),
]);
export type TimelineEvent = z.infer<typeof TimelineEvent>;

export const ScenarioFile = z.strictObject({
  name: z.string().min(1).max(128),
  description: z.string().max(4000).optional(),
  duration: Duration.refine((ms) => ms > 0 && ms <= MAX_SCENARIO_MS, 'must be more than 0 and at most 7d'),
  seed: z.number().int().nonnegative().optional(),
  /** Simulated time between two reports of every device (default: each kind's own). */
  interval: Duration.refine((ms) => ms >= 1000, 'must be at least 1s').optional(),
  fleet: z
    .array(z.strictObject({ kind: z.enum(DEVICE_KINDS), count: z.number().int().min(1).max(10_000), zones: ZoneSelector.optional() }))
    .min(1)
    .max(64)
    .optional(),
  /** Per report, the chance a device drops it, and the chance it sends a faulty one. */
  background: z.strictObject({ dropout: z.number().min(0).max(1).default(0), faults: z.number().min(0).max(1).default(0) }).optional(),
  timeline: z.array(TimelineEvent).max(1000).default([]),
});

export interface Scenario {
  name: string;
  description?: string;
  /** Simulated length; undefined runs until stopped. */
  durationMs: number | undefined;
  seed?: number;
  intervalMs?: number;
  fleet?: FleetSpec[];
  background: { dropout: number; faults: number };
  timeline: TimelineEvent[];
}

/** Reads and validates a scenario file; throws SW_ERR_INPUT_FILE naming the path and line. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    if (fs.statSync(file).size > MAX_SCENARIO_BYTES) throw new StreetWatchError('SW_ERR_INPUT_FILE', [file, `larger than ${MAX_SCENARIO_BYTES} bytes`]);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof StreetWatchError) throw err;
    throw new StreetWatchError('SW_ERR_INPUT_FILE', [file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`], { cause: err });
  }
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new StreetWatchError('SW_ERR_INPUT_FILE', [file, `${e.linePos ? `line ${e.linePos[0].line}: ` : ''}${e.message.split('\n')[0]}`]);
  }
  const parsed = ScenarioFile.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const node = doc.getIn(issue.path as (string | number)[], true);
    const line = isNode(node) && node.range ? ` (line ${lineCounter.linePos(node.range[0]).line})` : '';
    throw new StreetWatchError('SW_ERR_INPUT_FILE', [file, `${formatPath(issue.path)}${line}: ${issue.message}`]);
  }
  const s = parsed.data;
  const scenario: Scenario = {
    name: s.name,
    durationMs: s.duration,
    background: s.background ?? { dropout: 0, faults: 0 },
    timeline: s.timeline,
  };
  if (s.description !== undefined) scenario.description = s.description;
  if (s.seed !== undefined) scenario.seed = s.seed;
  if (s.interval !== undefined) scenario.intervalMs = s.interval;
  if (s.fleet) scenario.fleet = s.fleet.map((f) => (f.zones ? { kind: f.kind, count: f.count, zones: f.zones } : { kind: f.kind, count: f.count }));
  return scenario;
}

/** Incidents that need a place: a fire or a leak everywhere at once is not a scenario. */
const NEEDS_TARGET: ReadonlySet<IncidentType> = new Set(['fire', 'gas_leak', 'manhole_open', 'crowd', 'intrusion']);

/**
 * The timeline as incidents per device, in simulated time from `start`. Targets are checked
 * against the city and the fleet: an unknown zone or device, or an incident that reaches no
 * device, is an error rather than a silent no-op.
 */
export function resolveTimeline(scenario: Scenario, fleet: readonly SimDevice[], city: City, opts: { start: number; prefix: string; intervalMs: (d: SimDevice) => number }): Map<string, Incident[]> {
  const byId = new Map(fleet.map((d) => [d.id, d]));
  const zoneIds = new Set(city.zones.map((z) => z.id));
  const subcenterIds = new Set(city.subcenters.map((s) => s.id));
  const out = new Map<string, Incident[]>();
  const fail = (i: number, message: string): never => {
    throw new StreetWatchError('SW_ERR_INPUT_FILE', [`scenario "${scenario.name}"`, `timeline[${i}]: ${message}`]);
  };

  scenario.timeline.forEach((e, i) => {
    if (scenario.durationMs !== undefined && e.at >= scenario.durationMs) fail(i, `starts at ${e.at / 1000}s, after the scenario ends`);
    for (const z of e.zones ?? []) if (!zoneIds.has(z)) fail(i, `unknown zone "${z}"`);
    for (const s of e.subcenters ?? []) if (!subcenterIds.has(s)) fail(i, `unknown sub-center "${s}"`);
    const named = (e.devices ?? []).map((ref) => byId.get(ref) ?? byId.get(`${opts.prefix}-${ref}`) ?? fail(i, `no device "${ref}" in the fleet`));
    const hasArea = e.zones !== undefined || e.subcenters !== undefined;
    if (NEEDS_TARGET.has(e.type) && named.length === 0 && !hasArea) fail(i, `a ${e.type} needs devices, zones or subcenters`);
    const reached = (d: SimDevice): boolean => MODELS[d.kind].affectedBy.includes(e.type);
    for (const d of named) if (!reached(d)) fail(i, `a ${e.type} does not reach ${d.id}, a ${d.kind} device`);
    const inArea = hasArea
      ? fleet.filter((d) => reached(d) && (e.zones?.some((z) => d.zoneIds.includes(z)) || (d.subcenterId !== undefined && e.subcenters?.includes(d.subcenterId))))
      : named.length === 0
        ? fleet.filter(reached)
        : [];
    const devices = [...new Set([...named, ...inArea])];
    if (devices.length === 0) fail(i, `no device in the fleet is reached by this ${e.type}`);

    const start = opts.start + e.at;
    for (const d of devices) {
      // An incident without a duration lasts until the run ends; a fault, one report.
      const end = e.for !== undefined ? start + e.for : e.type === 'fault' ? start + opts.intervalMs(d) : Infinity;
      const incident: Incident = { type: e.type, start, end };
      if ('peak' in e) incident.peak = e.peak;
      if ('count' in e) incident.count = e.count;
      if ('label' in e) incident.label = e.label;
      if ('mode' in e) incident.mode = e.mode;
      const list = out.get(d.id) ?? [];
      list.push(incident);
      out.set(d.id, list);
    }
  });
  return out;
}
