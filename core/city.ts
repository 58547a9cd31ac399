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
import { RulesFile, ZoneRisk, ruleSelectors, type Rule } from './rules.js';
import { CategoryId, EntityId } from './schemas.js';
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

export const SlaFile = z.strictObject({
  grades: z.strictObject({ A: GradeSla, B: GradeSla, C: GradeSla, D: GradeSla }),
  grading: GradingTable.prefault({}),
  merge: MergePolicy.prefault({}),
  flapping: FlappingPolicy.prefault({}),
});
export type Sla = z.infer<typeof SlaFile>;

const webhookNeedsSecret = { path: ['secret'], message: 'a unit with a webhook needs a secret: every delivery is signed' };

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
  return { dir, name: city.name, district: city.district, departments, categories, subcenters, zones, rules, sla, basemap: city.basemap };
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
