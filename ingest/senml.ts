/**
 * `v1/devices/{id}/senml`: a SenML JSON pack (RFC 8428) made into readings. Pure, no I/O.
 *
 * The pack is resolved as the RFC says (senml-resolve.ts); then each resolved record is given
 * its device, by its name, and its metric, by its name suffix and unit (senml-names.ts), and is
 * checked like telemetry. Every record ends as a reading or as a coded refusal that names it
 * (`details.record`): none is dropped in silence.
 *
 * Devices. A device provisioned without a SenML name and speaking for nobody owns every record
 * of its packs. Otherwise a record belongs to the device whose provisioned SenML name its name
 * starts with, at a `:` or `/` boundary (the longest such name wins), among the publishing
 * device and the devices provisioned to be spoken for by it (a gateway); a record naming anyone
 * else is refused (SW_ERR_SENML_DEVICE).
 *
 * Positions. Records in the units `lat` and `lon` at the same time give the device's position
 * then (RFC 8428 §5.1.3): the readings of that device at or after that time, up to its next
 * position, carry it as their claimed location. Whether the claim is believed is decided later,
 * by the device's provisioning (trust.ts).
 */
import { StreetWatchError } from '../core/errors.js';
import { checkMetric } from '../core/metric-catalog.js';
import { extended } from '../core/objects.js';
import type { Location } from '../core/schemas.js';
import { checkTimestamp, jsonPayload, NOT_JSON, recordError, type DecodeContext, type Decoded, type DecodedReading, type PositionClaim } from './decode.js';
import { resolveSenmlPack, type ResolvedSenmlRecord } from './senml-resolve.js';
import { chooseMetric, nameSuffix, POSITION_UNITS, toMetricUnit, type SenmlMapEntry } from './senml-names.js';

/** A device as SenML sees it: its provisioned name (if any) and mapping table. */
export interface SenmlDevice {
  id: string;
  name: string | null;
  map: readonly SenmlMapEntry[];
}

/** The devices a pack may name: the publishing device and those it is provisioned to speak for. */
export interface SenmlDirectory {
  self: SenmlDevice;
  children: readonly SenmlDevice[];
}

/** The longest unit a reading carries (core/schemas.ts Reading). */
const READING_UNIT_MAX = 16;

export function decodeSenml(payload: Buffer, ctx: DecodeContext): Decoded<DecodedReading> {
  const out: Decoded<DecodedReading> = { items: [], rejections: [], positions: [] };
  const data = jsonPayload(payload, ctx, out);
  if (data === NOT_JSON) return out;
  const pack = resolveSenmlPack(data, ctx.receivedAt);
  out.rejections.push(...pack.rejections);
  const directory: SenmlDirectory = ctx.senml ?? { self: { id: ctx.deviceId, name: null, map: [] }, children: [] };

  const pending: { reading: Omit<DecodedReading, 'loc'> }[] = [];
  const fixes = new Map<string, { device: string; ts: number; lat?: ResolvedSenmlRecord; lon?: ResolvedSenmlRecord }>();
  for (const record of pack.records) {
    const device = deviceOfName(record.name, directory);
    if (!device) {
      out.rejections.push(recordError(record.index, 'SW_ERR_SENML_DEVICE', JSON.stringify(record.name.slice(0, 80)), directory.self.id));
      continue;
    }
    const tsError = checkTimestamp(record.ts, ctx, record.index);
    if (tsError) {
      out.rejections.push(tsError);
      continue;
    }
    if (record.unit !== undefined && POSITION_UNITS.has(record.unit)) {
      const problem = positionProblem(record);
      if (problem) {
        out.rejections.push(problem);
        continue;
      }
      const key = `${device.id}\u0000${record.ts}`;
      const fix = fixes.get(key) ?? { device: device.id, ts: record.ts };
      const axis = record.unit as 'lat' | 'lon';
      if (fix[axis]) {
        out.rejections.push(recordError(record.index, 'SW_ERR_READING_DUPLICATE', device.id, axis, new Date(record.ts).toISOString(), `[${fix[axis]!.index}]`));
        continue;
      }
      fix[axis] = record;
      fixes.set(key, fix);
      continue;
    }
    const reading = toReading(record, device, directory, ctx);
    if (reading instanceof StreetWatchError) out.rejections.push(reading);
    else pending.push({ reading });
  }

  const tracks = new Map<string, PositionClaim[]>();
  for (const fix of fixes.values()) {
    if (!fix.lat || !fix.lon) {
      const only = (fix.lat ?? fix.lon)!;
      out.rejections.push(recordError(only.index, 'SW_ERR_PAYLOAD_SCHEMA', `[${only.index}]: a position needs a "lat" and a "lon" record of the same name and time; this ${only.unit} has no partner`));
      continue;
    }
    const claim: PositionClaim = { deviceId: fix.device, ts: fix.ts, loc: { lat: fix.lat.value!, lon: fix.lon.value! }, records: [fix.lat.index, fix.lon.index].sort((a, b) => a - b) };
    out.positions!.push(claim);
    tracks.set(fix.device, [...(tracks.get(fix.device) ?? []), claim]);
  }
  for (const track of tracks.values()) track.sort((a, b) => a.ts - b.ts);
  out.positions!.sort((a, b) => a.ts - b.ts || a.records[0]! - b.records[0]!);

  for (const { reading } of pending) {
    const loc = positionAt(tracks.get(reading.deviceId), reading.ts);
    out.items.push(loc ? extended(reading, 'loc', loc) : reading);
  }
  // In pack order, so a vendor reads them against the records they sent (pack-level ones first).
  out.rejections.sort((a, b) => recordOf(a) - recordOf(b));
  return out;
}

function recordOf(e: StreetWatchError): number {
  return (e.details as { record?: number } | undefined)?.record ?? -1;
}

/** The device a resolved name belongs to, or undefined when the publisher may not speak for it. */
export function deviceOfName(name: string, directory: SenmlDirectory): SenmlDevice | undefined {
  let best: SenmlDevice | undefined;
  for (const d of [directory.self, ...directory.children]) {
    if (d.name === null || !startsAtBoundary(name, d.name)) continue;
    if (!best || d.name.length > best.name!.length) best = d;
  }
  if (best) return best;
  // A plain device, named by nobody and speaking for nobody: its names only say what was measured.
  if (directory.self.name === null && directory.children.length === 0) return directory.self;
  return undefined;
}

/** `name` is `prefix`, or continues it after a `:` or `/` (the RFC's URN and URI separators). */
function startsAtBoundary(name: string, prefix: string): boolean {
  if (!name.startsWith(prefix)) return false;
  if (name.length === prefix.length || prefix.endsWith(':') || prefix.endsWith('/')) return true;
  const next = name[prefix.length];
  return next === ':' || next === '/';
}

function toReading(record: ResolvedSenmlRecord, device: SenmlDevice, directory: SenmlDirectory, ctx: DecodeContext): Omit<DecodedReading, 'loc'> | StreetWatchError {
  const i = record.index;
  const suffix = nameSuffix(record.name, device.name);
  const tables = device === directory.self ? [device.map] : [device.map, directory.self.map];
  const choice = chooseMetric(suffix, record.unit, tables);
  if (!choice) {
    return recordError(i, 'SW_ERR_METRIC_UNKNOWN', `${JSON.stringify(record.name.slice(0, 80))}${record.unit === undefined ? '' : ` in ${JSON.stringify(record.unit.slice(0, 32))}`}`);
  }
  const { metric } = choice;
  let raw: number | boolean;
  if (record.boolean !== undefined) {
    raw = record.boolean;
  } else if (record.value !== undefined) {
    const converted = toMetricUnit(metric, record.unit, record.value);
    if (!converted.ok) return recordError(i, 'SW_ERR_UNIT_UNSUPPORTED', metric, JSON.stringify(record.unit), converted.accepted);
    raw = converted.value;
  } else if (record.string !== undefined || record.data !== undefined) {
    return recordError(i, 'SW_ERR_METRIC_TYPE', metric, `number ("v") or boolean ("vb"), not a ${record.string !== undefined ? 'string ("vs")' : 'data ("vd")'}`);
  } else {
    return recordError(i, 'SW_ERR_METRIC_TYPE', metric, 'number ("v") or boolean ("vb"); a record with only a sum ("s") is not stored');
  }
  const check = checkMetric(metric, raw);
  if (!check.ok) return recordError(i, check.code, ...check.args);
  const reading: Omit<DecodedReading, 'loc'> = { deviceId: device.id, metric, value: check.value, ts: record.ts, receivedAt: ctx.receivedAt, ref: ctx.ref, index: i };
  // A metric outside the catalogue (named by a mapping table) keeps the unit it was sent in.
  const unit = check.unit ?? (record.unit !== undefined && record.unit.length <= READING_UNIT_MAX ? record.unit : undefined);
  if (unit !== undefined) reading.unit = unit;
  return reading;
}

function positionProblem(record: ResolvedSenmlRecord): StreetWatchError | undefined {
  const i = record.index;
  const limit = record.unit === 'lat' ? 90 : 180;
  if (record.value === undefined) return recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `[${i}]: a ${record.unit} record carries a number ("v")`);
  if (Math.abs(record.value) > limit) return recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `[${i}]: ${record.unit} ${record.value} is outside -${limit} to ${limit} degrees`);
  return undefined;
}

/** The latest position of a track at or before `ts`. */
function positionAt(track: readonly PositionClaim[] | undefined, ts: number): Location | undefined {
  let at: Location | undefined;
  for (const p of track ?? []) {
    if (p.ts > ts) break;
    at = p.loc;
  }
  return at;
}
