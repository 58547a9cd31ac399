/**
 * The city configuration: a directory with jurisdictions, risk zones, rules and deadlines.
 * Every file is validated with zod; a bad file fails with its name, the path of the bad value
 * and, for YAML, its line.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML, { LineCounter, isNode } from 'yaml';
import { z } from 'zod';
import type { MultiPolygon, Polygon } from 'geojson';
import { BasemapConfig } from './basemap.js';
import { Duration } from './duration.js';
import { StreetWatchError } from './errors.js';
import { GeoIndex } from './geo-index.js';
import { RulesFile, ZoneRisk, ruleSelectors, type Rule } from './rules.js';
import { CategoryId, EntityId, Grade } from './schemas.js';
import { formatPath } from './zod-issues.js';

export { ZoneRisk, ZoneSelector, type Rule, type ThresholdRule } from './rules.js';

const Position = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]).rest(z.number());
const LinearRing = z
  .array(Position)
  .min(4)
  .refine((r) => r[0]![0] === r.at(-1)![0] && r[0]![1] === r.at(-1)![1], 'a linear ring must be closed (first position = last)');
const PolygonSchema = z.object({ type: z.literal('Polygon'), coordinates: z.array(LinearRing).min(1) });
const MultiPolygonSchema = z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(LinearRing).min(1)).min(1) });
const AreaGeometry = z.discriminatedUnion('type', [PolygonSchema, MultiPolygonSchema]);

const featureCollection = <P extends z.ZodType>(properties: P) =>
  z.object({
    type: z.literal('FeatureCollection'),
    features: z.array(z.object({ type: z.literal('Feature'), geometry: AreaGeometry, properties })).max(100_000),
  });

export const SubcenterProperties = z.strictObject({
  id: EntityId,
  name: z.string().min(1).max(128),
  parent: EntityId.optional(),
  webhook: z.url({ protocol: /^https?$/ }).max(2048).optional(),
  secret: z.string().min(16, 'a webhook secret must be at least 16 characters').max(256).optional(),
}).refine((p) => p.webhook === undefined || p.secret !== undefined, { path: ['secret'], message: 'a sub-center with a webhook needs a secret: every delivery is signed' });

export const ZoneProperties = z.strictObject({
  id: EntityId,
  name: z.string().min(1).max(128),
  kind: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/),
  risk: ZoneRisk,
  tags: z.array(z.string().min(1).max(64)).max(32).default([]),
});

/** How long readings must stay normal after a resolution before the sensor confirms the closing. */
export const DEFAULT_HOLD_MS = 10 * 60_000;
/** How far apart in time alerts outside any zone may be and still be one incident. */
export const DEFAULT_MERGE_WINDOW_MS = 30 * 60_000;
/** How far apart (metres) alerts outside any zone may be and still be one incident. */
export const DEFAULT_MERGE_RADIUS_M = 200;

const GradeSla = z.strictObject({
  respondWithin: Duration,
  resolveWithin: Duration,
  remindBefore: Duration,
  holdFor: Duration.default(DEFAULT_HOLD_MS),
});

const Raise = z.number().int().min(0).max(3);

/**
 * How a ticket's grade rises above its rule's grade (D→C→B→A, never above A): steps per zone
 * risk, plus the largest raise among the aggregation rows the ticket meets, capped at maxRaise.
 */
export const GradingTable = z.strictObject({
  zoneRisk: z.strictObject({ high: Raise.default(0), medium: Raise.default(0), low: Raise.default(0) }).prefault({}),
  aggregation: z
    .array(
      z
        .strictObject({
          minDevices: z.number().int().min(2).max(1_000_000).optional(),
          minAlerts: z.number().int().min(2).max(1_000_000).optional(),
          raise: Raise.min(1),
        })
        .refine((r) => r.minDevices !== undefined || r.minAlerts !== undefined, 'a row needs "minDevices" or "minAlerts"'),
    )
    .max(32)
    .default([]),
  maxRaise: Raise.default(3),
});
export type GradingTable = z.infer<typeof GradingTable>;

/** Alert storms: which alerts become one ticket (see docs/TICKETS.md). */
export const MergePolicy = z.strictObject({
  window: Duration.default(DEFAULT_MERGE_WINDOW_MS),
  radius: z.number().min(0).max(10_000).default(DEFAULT_MERGE_RADIUS_M),
});
export type MergePolicy = z.infer<typeof MergePolicy>;

/** State changes of one alert within `window` that make it flapping. */
export const DEFAULT_FLAP_HIGH = 6;
/** At most this many changes within `window` and it stops flapping (hysteresis). */
export const DEFAULT_FLAP_LOW = 2;
/** Three fire/resolve cycles in ten minutes is no hazard coming and going: it is a sensor on the edge. */
export const DEFAULT_FLAP_WINDOW_MS = 10 * 60_000;

/**
 * Flapping (as Kapacitor's `.flapping()`): an alert whose state changed `high` times within
 * `window` (event time) is flapping until it changes with at most `low` changes in the window.
 */
export const FlappingPolicy = z
  .strictObject({
    window: Duration.default(DEFAULT_FLAP_WINDOW_MS),
    high: z.number().int().min(2).max(100).default(DEFAULT_FLAP_HIGH),
    low: z.number().int().min(0).max(99).default(DEFAULT_FLAP_LOW),
  })
  .refine((p) => p.low < p.high, { message: '"low" must be below "high"', path: ['low'] });
export type FlappingPolicy = z.infer<typeof FlappingPolicy>;

/** Returns (退单) one ticket may take before the district's last ruling stands. */
export const DEFAULT_MAX_RETURNS = 2;
/** Extension requests (延期) one ticket may take, approved or not. */
export const DEFAULT_MAX_EXTENSIONS = 2;
/** How far past the deadline in force one extension may reach: a week is a re-plan, not a delay. */
export const DEFAULT_MAX_EXTENSION_MS = 7 * 86_400_000;
/** The grade of a people's report (a community-level matter until sensors, zones or storms raise it). */
export const DEFAULT_REPORT_GRADE = 'C';
/** How long a reporter has to confirm a resolution (上报人确认) before the district decides: three days, as 12345 call-backs allow. */
export const DEFAULT_CONFIRM_WITHIN_MS = 72 * 3_600_000;

/** The rules of returns, extensions and people's reports (docs/TICKETS.md, sections 11 to 13). */
export const GovernancePolicy = z.strictObject({
  returns: z.strictObject({ maxPerTicket: z.number().int().min(1).max(10).default(DEFAULT_MAX_RETURNS) }).prefault({}),
  extensions: z
    .strictObject({
      maxPerTicket: z.number().int().min(1).max(10).default(DEFAULT_MAX_EXTENSIONS),
      maxDelay: Duration.default(DEFAULT_MAX_EXTENSION_MS),
    })
    .prefault({}),
  reports: z
    .strictObject({
      grade: Grade.default(DEFAULT_REPORT_GRADE),
      confirmWithin: Duration.default(DEFAULT_CONFIRM_WITHIN_MS),
    })
    .prefault({}),
});
export type GovernancePolicy = z.infer<typeof GovernancePolicy>;

export const SlaFile = z.strictObject({
  grades: z.strictObject({ A: GradeSla, B: GradeSla, C: GradeSla, D: GradeSla }),
  grading: GradingTable.prefault({}),
  merge: MergePolicy.prefault({}),
  flapping: FlappingPolicy.prefault({}),
  governance: GovernancePolicy.prefault({}),
});
export type Sla = z.infer<typeof SlaFile>;

const webhookNeedsSecret = { path: ['secret'], message: 'a unit with a webhook needs a secret: every delivery is signed' };

/** Co-handling departments one grade of a plan may summon: more is the broadcast 吹哨报到 reviews warn about. */
export const MAX_PLAN_CO_HANDLERS = 8;
/** Steps of a plan's checklist. */
export const MAX_CHECKLIST_STEPS = 12;

const PlanGrade = z.strictObject({
  /** The lead department at this grade, when not the plan's (an A flood may be led by emergency management). */
  lead: CategoryId.optional(),
  coHandlers: z
    .array(z.strictObject({ department: CategoryId, checkInWithin: Duration }))
    .min(1)
    .max(MAX_PLAN_CO_HANDLERS),
});

/**
 * A category's response plan (预案): the lead department, and per grade (A, and B where the city
 * wants joint handling at street level) the departments summoned to co-handle and how soon
 * each must check in (报到); a checklist of steps the console shows and the timeline records.
 */
export const ResponsePlan = z.strictObject({
  lead: CategoryId.optional(),
  grades: z.strictObject({ A: PlanGrade.optional(), B: PlanGrade.optional() }),
  checklist: z
    .array(z.strictObject({ id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$'), text: z.string().min(1).max(100) }))
    .max(MAX_CHECKLIST_STEPS)
    .default([]),
});

const LocalUnit = {
  name: z.string().min(1).max(128),
  /** Where it is responsible: a GeoJSON Polygon or MultiPolygon inside its parent's area. */
  area: AreaGeometry,
  webhook: z.url({ protocol: /^https?$/ }).max(2048).optional(),
  secret: z.string().min(16, 'a webhook secret must be at least 16 characters').max(256).optional(),
};
/** A community (社区) under a street sub-center: it holds the C tickets of its area. */
const CommunityEntry = z.strictObject({ ...LocalUnit, subcenter: EntityId }).refine((c) => c.webhook === undefined || c.secret !== undefined, webhookNeedsSecret);
/** A grid (网格) under a community: it holds the D tickets of its area. */
const GridEntry = z.strictObject({ ...LocalUnit, community: EntityId }).refine((c) => c.webhook === undefined || c.secret !== undefined, webhookNeedsSecret);
/** Communities and grids a city may define (each is a unit with tokens and a timeline). */
export const MAX_LOCAL_UNITS = 10_000;

export const CityFile = z.strictObject({
  name: z.string().min(1).max(128),
  /** The district command center: parent of the sub-centers, the routing fallback, and the supervisor of overdue tickets. */
  district: z
    .strictObject({
      id: EntityId,
      name: z.string().min(1).max(128),
      webhook: z.url({ protocol: /^https?$/ }).max(2048).optional(),
      secret: z.string().min(16, 'a webhook secret must be at least 16 characters').max(256).optional(),
    })
    .refine((d) => d.webhook === undefined || d.secret !== undefined, webhookNeedsSecret),
  /** Functional departments (水务, 消防...): id → display name. */
  departments: z.record(CategoryId, z.strictObject({ name: z.string().min(1).max(128) })).default({}),
  /** Alert categories: display name, and the department responsible when a rule names none. */
  categories: z
    .record(CategoryId, z.strictObject({ name: z.string().min(1).max(128), department: CategoryId, description: z.string().max(1000).optional() }))
    .default({}),
  /** The tile services the console draws its map on (core/basemap.ts); none: the offline schematic. */
  basemap: BasemapConfig.optional(),
  /** Response plans (预案) by category. */
  responsePlans: z.record(CategoryId, ResponsePlan).default({}),
  /** Communities (社区) under the sub-centers, and grids (网格) under the communities: who holds C and D tickets. */
  communities: z.record(EntityId, CommunityEntry).default({}),
  grids: z.record(EntityId, GridEntry).default({}),
});

type CityFileOutput = z.output<typeof CityFile>;
export type Department = { id: string } & CityFileOutput['departments'][string];
export type Category = { id: string } & CityFileOutput['categories'][string];

export interface Subcenter extends z.infer<typeof SubcenterProperties> {
  geometry: Polygon | MultiPolygon;
}
export interface Zone extends z.infer<typeof ZoneProperties> {
  geometry: Polygon | MultiPolygon;
}
export type ResponsePlan = { category: string; lead: string } & Omit<z.output<typeof ResponsePlan>, 'lead'>;
export type PlanCoHandler = NonNullable<ResponsePlan['grades']['A']>['coHandlers'][number];
/** A community or a grid: a unit below a sub-center, placed by its area. */
export interface LocalUnitArea {
  id: string;
  name: string;
  level: 'community' | 'grid';
  /** The sub-center it belongs to, and for a grid its community. */
  subcenter: string;
  community?: string;
  geometry: Polygon | MultiPolygon;
  webhook?: string | undefined;
  secret?: string | undefined;
}

export interface City {
  dir: string;
  name: string;
  district: CityFileOutput['district'];
  departments: ReadonlyMap<string, Department>;
  categories: ReadonlyMap<string, Category>;
  subcenters: Subcenter[];
  zones: Zone[];
  rules: Rule[];
  sla: Sla;
  basemap?: BasemapConfig | undefined;
  /** Response plans by category, the lead department resolved. */
  responsePlans: ReadonlyMap<string, ResponsePlan>;
  communities: LocalUnitArea[];
  grids: LocalUnitArea[];
}

export const CITY_FILES = ['city.yaml', 'subcenters.geojson', 'zones.geojson', 'rules.yaml', 'sla.yaml'] as const;

/** Loads and validates a city directory; throws SW_ERR_CONFIG_FILE naming the file and path. */
export function loadCity(dir: string): City {
  const city = parseYaml(dir, 'city.yaml', CityFile);
  const subcenters = parseGeoJson(dir, 'subcenters.geojson', featureCollection(SubcenterProperties)).features.map(
    (f): Subcenter => ({ ...f.properties, geometry: f.geometry as Polygon | MultiPolygon }),
  );
  const zones = parseGeoJson(dir, 'zones.geojson', featureCollection(ZoneProperties)).features.map(
    (f): Zone => ({ ...f.properties, geometry: f.geometry as Polygon | MultiPolygon }),
  );
  assertUniqueIds(dir, 'subcenters.geojson', subcenters);
  assertUniqueIds(dir, 'zones.geojson', zones);
  if (subcenters.length === 0) fail(dir, 'subcenters.geojson', 'features', 'at least one sub-center is required');
  if (subcenters.some((s) => s.id === city.district.id)) fail(dir, 'city.yaml', 'district.id', `"${city.district.id}" is also a sub-center id`);
  const departments = new Map(Object.entries(city.departments).map(([id, d]) => [id, { id, ...d }]));
  const categories = new Map(Object.entries(city.categories).map(([id, c]) => [id, { id, ...c }]));
  for (const c of categories.values()) {
    if (!departments.has(c.department)) fail(dir, 'city.yaml', `categories.${c.id}.department`, `unknown department "${c.department}"`);
  }
  const rules = loadRules(path.join(dir, 'rules.yaml'), zones, categories);
  const sla = parseYaml(dir, 'sla.yaml', SlaFile);
  const responsePlans = checkPlans(dir, city.responsePlans, departments, categories);
  const { communities, grids } = checkLocalUnits(dir, city, subcenters);
  // Event recipients and tokens name units and departments alike: one namespace.
  const unitIds = new Set([city.district.id, ...subcenters.map((s) => s.id), ...communities.map((c) => c.id), ...grids.map((g) => g.id)]);
  for (const id of departments.keys()) if (unitIds.has(id)) fail(dir, 'city.yaml', `departments.${id}`, `"${id}" is also the id of a unit`);
  return { dir, name: city.name, district: city.district, departments, categories, subcenters, zones, rules, sla, basemap: city.basemap, responsePlans, communities, grids };
}

function checkPlans(dir: string, plans: z.output<typeof CityFile>['responsePlans'], departments: ReadonlyMap<string, Department>, categories: ReadonlyMap<string, Category>): Map<string, ResponsePlan> {
  const out = new Map<string, ResponsePlan>();
  for (const [category, plan] of Object.entries(plans)) {
    const where = `responsePlans.${category}`;
    const lead = plan.lead ?? categories.get(category)?.department;
    if (lead === undefined) fail(dir, 'city.yaml', where, `category "${category}" is not in "categories" and the plan names no "lead"`);
    if (!departments.has(lead)) fail(dir, 'city.yaml', `${where}.lead`, `unknown department "${lead}"`);
    for (const grade of ['A', 'B'] as const) {
      const seen = new Set<string>();
      const gradeLead = plan.grades[grade]?.lead ?? lead;
      if (!departments.has(gradeLead)) fail(dir, 'city.yaml', `${where}.grades.${grade}.lead`, `unknown department "${gradeLead}"`);
      for (const [i, c] of (plan.grades[grade]?.coHandlers ?? []).entries()) {
        const at = `${where}.grades.${grade}.coHandlers[${i}].department`;
        if (!departments.has(c.department)) fail(dir, 'city.yaml', at, `unknown department "${c.department}"`);
        if (c.department === gradeLead) fail(dir, 'city.yaml', at, `"${c.department}" leads at grade ${grade}, it cannot also co-handle`);
        if (seen.has(c.department)) fail(dir, 'city.yaml', at, `"${c.department}" is listed twice`);
        seen.add(c.department);
      }
    }
    const steps = new Set<string>();
    for (const [i, step] of plan.checklist.entries()) {
      if (steps.has(step.id)) fail(dir, 'city.yaml', `${where}.checklist[${i}].id`, `duplicate step "${step.id}"`);
      steps.add(step.id);
    }
    out.set(category, { ...plan, category, lead });
  }
  return out;
}

/**
 * Communities belong to a sub-center and grids to a community, each inside its parent's area.
 * "Inside" is checked on the area's vertices (boundaries count as inside), which catches a
 * misplaced or mistyped area; it does not prove a concave edge stays inside.
 */
function checkLocalUnits(dir: string, city: z.output<typeof CityFile>, subcenters: readonly Subcenter[]): { communities: LocalUnitArea[]; grids: LocalUnitArea[] } {
  const entries = Object.entries(city.communities);
  const gridEntries = Object.entries(city.grids);
  if (entries.length + gridEntries.length > MAX_LOCAL_UNITS) fail(dir, 'city.yaml', 'communities', `at most ${MAX_LOCAL_UNITS} communities and grids`);
  const taken = new Set([city.district.id, ...subcenters.map((s) => s.id)]);
  const subcenterById = new Map(subcenters.map((s) => [s.id, s]));
  const communities: LocalUnitArea[] = [];
  for (const [id, c] of entries) {
    if (taken.has(id)) fail(dir, 'city.yaml', `communities.${id}`, `"${id}" is already the id of a unit`);
    taken.add(id);
    const parent = subcenterById.get(c.subcenter);
    if (!parent) fail(dir, 'city.yaml', `communities.${id}.subcenter`, `unknown sub-center "${c.subcenter}"`);
    assertInside(dir, `communities.${id}.area`, c.area, parent, `sub-center "${parent.id}"`);
    communities.push({ id, name: c.name, level: 'community', subcenter: c.subcenter, geometry: c.area as Polygon | MultiPolygon, webhook: c.webhook, secret: c.secret });
  }
  const communityById = new Map(communities.map((c) => [c.id, c]));
  const grids: LocalUnitArea[] = [];
  for (const [id, g] of gridEntries) {
    if (taken.has(id)) fail(dir, 'city.yaml', `grids.${id}`, `"${id}" is already the id of a unit`);
    taken.add(id);
    const parent = communityById.get(g.community);
    if (!parent) fail(dir, 'city.yaml', `grids.${id}.community`, `unknown community "${g.community}"`);
    assertInside(dir, `grids.${id}.area`, g.area, parent, `community "${parent.id}"`);
    grids.push({ id, name: g.name, level: 'grid', subcenter: parent.subcenter, community: parent.id, geometry: g.area as Polygon | MultiPolygon, webhook: g.webhook, secret: g.secret });
  }
  return { communities, grids };
}

function assertInside(dir: string, where: string, area: Polygon | MultiPolygon, parent: { id: string; geometry: Polygon | MultiPolygon }, what: string): void {
  const index = new GeoIndex([parent]);
  const rings = area.type === 'Polygon' ? area.coordinates : area.coordinates.flat();
  for (const ring of rings) {
    for (const [lon, lat] of ring) {
      if (index.containing(lon!, lat!).length === 0) fail(dir, 'city.yaml', where, `the point ${lon}, ${lat} lies outside ${what}`);
    }
  }
}

/**
 * Loads and validates a rules file against a city's zones and categories (a backtest tries a
 * rules file this way before it goes live); throws SW_ERR_CONFIG_FILE naming the file, path and
 * line. A rule without a department needs its category's department in city.yaml.
 */
export function loadRules(file: string, zones: readonly { id: string }[], categories?: ReadonlyMap<string, Category>): Rule[] {
  const dir = path.dirname(file);
  const name = path.basename(file);
  const { data, line } = parseYamlWithLines(dir, name, RulesFile);
  const zoneIds = new Set(zones.map((z) => z.id));
  data.rules.forEach((rule, i) => {
    for (const { at, selector } of ruleSelectors(rule)) {
      for (const [j, id] of (selector.ids ?? []).entries()) {
        const where = ['rules', i, ...at, 'ids', j];
        if (!zoneIds.has(id)) fail(dir, name, formatPath(where) + line(where), `unknown zone "${id}"`);
      }
    }
    if (categories && rule.department === undefined && !categories.has(rule.category)) {
      fail(dir, name, `rules[${i}]${line(['rules', i])}`, `names no department, and city.yaml gives none for category "${rule.category}"`);
    }
  });
  return data.rules;
}

function assertUniqueIds(dir: string, file: string, items: { id: string }[]): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) fail(dir, file, `features[${i}].properties.id`, `duplicate id "${item.id}"`);
    seen.add(item.id);
  });
}

function readFile(dir: string, file: string): string {
  const full = path.join(dir, file);
  try {
    return fs.readFileSync(full, 'utf8');
  } catch (err) {
    throw new StreetWatchError('SW_ERR_CONFIG_FILE', [full, `cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`], { cause: err });
  }
}

function parseGeoJson<S extends z.ZodType>(dir: string, file: string, schema: S): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(readFile(dir, file));
  } catch (err) {
    if (err instanceof StreetWatchError) throw err;
    fail(dir, file, '', `is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(dir, file, formatPath(issue.path), issue.message);
  }
  return parsed.data;
}

function parseYaml<S extends z.ZodType>(dir: string, file: string, schema: S): z.output<S> {
  return parseYamlWithLines(dir, file, schema).data;
}

/** The parsed file, and " (line N)" for a path in it (for checks beyond the schema). */
function parseYamlWithLines<S extends z.ZodType>(dir: string, file: string, schema: S): { data: z.output<S>; line: (where: (string | number)[]) => string } {
  const text = readFile(dir, file);
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    fail(dir, file, '', `${e.linePos ? `line ${e.linePos[0].line}: ` : ''}${e.message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const line = lineOf(doc, lineCounter, issue.path as (string | number)[]);
    fail(dir, file, formatPath(issue.path) + line, issue.message);
  }
  return { data: parsed.data, line: (where) => lineOf(doc, lineCounter, where) };
}

/** " (line N)" of the value at `where`, or of its nearest ancestor when it is missing. */
function lineOf(doc: YAML.Document, lineCounter: LineCounter, where: (string | number)[]): string {
  for (let n = where.length; n >= 0; n--) {
    const node = doc.getIn(where.slice(0, n), true);
    if (isNode(node) && node.range) return ` (line ${lineCounter.linePos(node.range[0]).line})`;
  }
  return '';
}

function fail(dir: string, file: string, where: string, message: string): never {
  const location = where ? `${where}: ` : '';
  throw new StreetWatchError('SW_ERR_CONFIG_FILE', [path.join(dir, file), `${location}${message}`]);
}
