/**
 * Decoding device payloads into normalized readings and events: pure, no I/O. Each rejection
 * is a catalogued error; valid parts of a payload are kept when other parts are refused.
 */
import { StreetWatchError, swError, type ErrorCode } from '../core/errors.js';
import { parseJsonPayload } from '../core/json-payload.js';
import { checkMetric } from '../core/metric-catalog.js';
import {
  CameraEventPayload,
  DeviceStatusPayload,
  MAX_TELEMETRY_BATCH,
  MIN_READING_TS,
  TelemetryObject,
  type CameraEvent,
  type Location,
} from '../core/schemas.js';
import { describeZodError, formatPath } from '../core/zod-issues.js';
import type { SenmlDirectory } from './senml.js';
import { validTelemetryObject } from './telemetry-check.js';

export interface DecodeContext {
  /** The device of the topic. */
  deviceId: string;
  ref: string;
  receivedAt: number;
  maxPayloadBytes: number;
  /** How far after its arrival a time may lie (a device clock running ahead). */
  maxClockSkewMs: number;
  /** How far before its arrival a time may lie (a buffer emptied after an outage). */
  maxReadingAgeMs: number;
  /** SenML: the devices a pack may name; the topic's device alone, unnamed, when absent. */
  senml?: SenmlDirectory;
}

/**
 * A reading as the payload states it, before trust (trust.ts: time, location, limits) and
 * placement (zones, jurisdiction).
 */
export interface DecodedReading {
  deviceId: string;
  metric: string;
  value: number;
  unit?: string;
  ts: number;
  receivedAt: number;
  /** The location the payload claims, if any: believed only for a mobile device. */
  loc?: Location;
  ref: string;
  /** The object (telemetry array) or record (SenML pack) of the publish it came from. */
  index: number;
}

/** A camera event as the payload states it; `loc` is a claim, as for readings. */
export type DecodedEvent = Omit<CameraEvent, 'zoneIds' | 'subcenterId'> & { index: number };

/** Where a device says it was, and when: a `loc`, or a SenML pair of `lat` and `lon` records. */
export interface PositionClaim {
  deviceId: string;
  ts: number;
  loc: Location;
  /** The objects or records of the publish that stated it. */
  records: number[];
}

export interface Decoded<T> {
  items: T[];
  rejections: StreetWatchError[];
  /** Positions stated by the payload, oldest first. */
  positions?: PositionClaim[];
}

/** A refusal about one object or record of a publish: its index travels in `details.record`. */
export function recordError(index: number, code: ErrorCode, ...args: unknown[]): StreetWatchError {
  return new StreetWatchError(code, args, { details: { record: index } });
}

/** What `jsonPayload` returns for a payload that is not JSON. */
export const NOT_JSON: unique symbol = Symbol('not JSON');

/** The payload's JSON; or, when it has none, NOT_JSON with the coded rejection added to `out`. */
export function jsonPayload(payload: Buffer, ctx: DecodeContext, out: Decoded<unknown>): unknown {
  try {
    return parseJsonPayload(payload, ctx.maxPayloadBytes);
  } catch (err) {
    out.rejections.push(err as StreetWatchError);
    return NOT_JSON;
  }
}

/** `v1/devices/{id}/telemetry`: one object or an array of them. */
export function decodeTelemetry(payload: Buffer, ctx: DecodeContext): Decoded<DecodedReading> {
  const out: Decoded<DecodedReading> = { items: [], rejections: [], positions: [] };
  const data = jsonPayload(payload, ctx, out);
  if (data === NOT_JSON) return out;
  if (Array.isArray(data)) {
    if (data.length === 0 || data.length > MAX_TELEMETRY_BATCH) {
      out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', `an array must hold 1 to ${MAX_TELEMETRY_BATCH} objects, got ${data.length}`));
      return out;
    }
    data.forEach((item, i) => decodeTelemetryObject(item, i, [i], ctx, out));
  } else {
    decodeTelemetryObject(data, 0, [], ctx, out);
  }
  out.positions!.sort((a, b) => a.ts - b.ts);
  return out;
}

function decodeTelemetryObject(item: unknown, index: number, path: (string | number)[], ctx: DecodeContext, out: Decoded<DecodedReading>): void {
  // JSON.parse makes `"__proto__"` an ordinary own key, and zod's records skip it without an
  // issue: the rest of the object would be stored and the device never told. It is no metric
  // name, so the object is refused like one with any other bad name.
  const rawValues = typeof item === 'object' && item !== null ? (item as { values?: unknown }).values : undefined;
  if (typeof rawValues === 'object' && rawValues !== null && Object.hasOwn(rawValues, '__proto__')) {
    out.rejections.push(recordError(index, 'SW_ERR_PAYLOAD_SCHEMA', `${formatPath([...path, 'values', '__proto__'])}: must match ^[a-z][a-z0-9_]{0,63}$`));
    return;
  }
  let data = validTelemetryObject(item);
  if (!data) {
    const parsed = TelemetryObject.safeParse(item);
    if (!parsed.success) {
      out.rejections.push(recordError(index, 'SW_ERR_PAYLOAD_SCHEMA', describeZodError(parsed.error, path)));
      return;
    }
    data = parsed.data;
  }
  const { values, loc } = data;
  const ts = data.ts ?? ctx.receivedAt;
  const tsError = checkTimestamp(ts, ctx, index);
  if (tsError) {
    out.rejections.push(tsError);
    return;
  }
  if (loc) out.positions!.push({ deviceId: ctx.deviceId, ts, loc, records: [index] });
  for (const [metric, raw] of Object.entries(values)) {
    const check = checkMetric(metric, raw);
    if (!check.ok) {
      out.rejections.push(recordError(index, check.code, ...check.args));
      continue;
    }
    const reading: DecodedReading = { deviceId: ctx.deviceId, metric, value: check.value, ts, receivedAt: ctx.receivedAt, ref: ctx.ref, index };
    if (check.unit !== undefined) reading.unit = check.unit;
    if (loc) reading.loc = loc;
    out.items.push(reading);
  }
}

/** `v1/devices/{id}/events`: one camera analytics event. */
export function decodeCameraEvent(payload: Buffer, ctx: DecodeContext): Decoded<DecodedEvent> {
  const out: Decoded<DecodedEvent> = { items: [], rejections: [], positions: [] };
  const data = jsonPayload(payload, ctx, out);
  if (data === NOT_JSON) return out;
  const parsed = CameraEventPayload.safeParse(data);
  if (!parsed.success) {
    out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', describeZodError(parsed.error)));
    return out;
  }
  const e = parsed.data;
  const ts = e.ts ?? ctx.receivedAt;
  const tsError = checkTimestamp(ts, ctx);
  if (tsError) {
    out.rejections.push(tsError);
    return out;
  }
  const event: DecodedEvent = { id: e.id ?? ctx.ref, deviceId: ctx.deviceId, type: e.type, ts, receivedAt: ctx.receivedAt, ref: ctx.ref, index: 0 };
  if (e.score !== undefined) event.score = e.score;
  if (e.count !== undefined) event.count = e.count;
  if (e.snapshot !== undefined) event.snapshot = e.snapshot;
  if (e.loc) {
    event.loc = e.loc;
    out.positions!.push({ deviceId: ctx.deviceId, ts, loc: e.loc, records: [0] });
  }
  out.items.push(event);
  return out;
}

/** `v1/devices/{id}/status`: `online` or `offline`, plain text (a JSON string is accepted too). */
export function decodeStatus(payload: Buffer): 'online' | 'offline' {
  const text = payload.length <= 32 ? payload.toString('utf8').trim().replace(/^"(.*)"$/, '$1') : '';
  const parsed = DeviceStatusPayload.safeParse(text);
  if (!parsed.success) throw swError('SW_ERR_PAYLOAD_SCHEMA', 'status must be "online" or "offline"');
  return parsed.data;
}

/**
 * Refuses times outside the window around arrival: before 2000 or more than the reading age
 * limit before it, or further after it than the allowed clock skew. (Whether a time in the window
 * is believed for the device is trust.ts's business.)
 */
export function checkTimestamp(ts: number, ctx: DecodeContext, index = 0): StreetWatchError | undefined {
  const earliest = Math.max(MIN_READING_TS, ctx.receivedAt - ctx.maxReadingAgeMs);
  const latest = ctx.receivedAt + ctx.maxClockSkewMs;
  if (!Number.isFinite(ts) || ts < earliest || ts > latest) {
    return recordError(index, 'SW_ERR_TS_RANGE', isoOrRaw(ts), `${isoOrRaw(earliest)} to ${isoOrRaw(latest)}`);
  }
  return undefined;
}

function isoOrRaw(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
