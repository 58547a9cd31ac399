/**
 * Decoding device payloads into normalized readings and events: pure, no I/O. Each rejection
 * is a catalogued error; valid parts of a payload are kept when other parts are refused.
 */
import { StreetWatchError, swError } from '../core/errors.js';
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

export interface DecodeContext {
  deviceId: string;
  ref: string;
  receivedAt: number;
  /** The device's registered location, used when a payload carries none. */
  fallbackLoc: Location | undefined;
  maxPayloadBytes: number;
  maxClockSkewMs: number;
}

/** A reading before placement (zones, jurisdiction) is added. */
export interface DecodedReading {
  deviceId: string;
  metric: string;
  value: number;
  unit?: string;
  ts: number;
  receivedAt: number;
  loc?: Location;
  ref: string;
}

/** A camera event before placement (zones, jurisdiction) is added. */
export type DecodedEvent = Omit<CameraEvent, 'zoneIds' | 'subcenterId'>;

export interface Decoded<T> {
  items: T[];
  rejections: StreetWatchError[];
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
  const out: Decoded<DecodedReading> = { items: [], rejections: [] };
  const data = jsonPayload(payload, ctx, out);
  if (data === NOT_JSON) return out;
  if (Array.isArray(data)) {
    if (data.length === 0 || data.length > MAX_TELEMETRY_BATCH) {
      out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', `an array must hold 1 to ${MAX_TELEMETRY_BATCH} objects, got ${data.length}`));
      return out;
    }
    data.forEach((item, i) => decodeTelemetryObject(item, [i], ctx, out));
  } else {
    decodeTelemetryObject(data, [], ctx, out);
  }
  return out;
}

function decodeTelemetryObject(item: unknown, path: (string | number)[], ctx: DecodeContext, out: Decoded<DecodedReading>): void {
  // JSON.parse makes `"__proto__"` an ordinary own key, and zod's records skip it without an
  // issue: the rest of the object would be stored and the device never told. It is no metric
  // name, so the object is refused like one with any other bad name.
  const rawValues = typeof item === 'object' && item !== null ? (item as { values?: unknown }).values : undefined;
  if (typeof rawValues === 'object' && rawValues !== null && Object.hasOwn(rawValues, '__proto__')) {
    out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', `${formatPath([...path, 'values', '__proto__'])}: must match ^[a-z][a-z0-9_]{0,63}$`));
    return;
  }
  const parsed = TelemetryObject.safeParse(item);
  if (!parsed.success) {
    out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', describeZodError(parsed.error, path)));
    return;
  }
  const { values, loc } = parsed.data;
  const ts = parsed.data.ts ?? ctx.receivedAt;
  const tsError = checkTimestamp(ts, ctx);
  if (tsError) {
    out.rejections.push(tsError);
    return;
  }
  const where = loc ?? ctx.fallbackLoc;
  for (const [metric, raw] of Object.entries(values)) {
    const check = checkMetric(metric, raw);
    if (!check.ok) {
      out.rejections.push(new StreetWatchError(check.code, check.args));
      continue;
    }
    const reading: DecodedReading = { deviceId: ctx.deviceId, metric, value: check.value, ts, receivedAt: ctx.receivedAt, ref: ctx.ref };
    if (check.unit !== undefined) reading.unit = check.unit;
    if (where) reading.loc = where;
    out.items.push(reading);
  }
}

/** `v1/devices/{id}/events`: one camera analytics event. */
export function decodeCameraEvent(payload: Buffer, ctx: DecodeContext): Decoded<DecodedEvent> {
  const out: Decoded<DecodedEvent> = { items: [], rejections: [] };
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
  const event: DecodedEvent = { id: e.id ?? ctx.ref, deviceId: ctx.deviceId, type: e.type, ts, receivedAt: ctx.receivedAt, ref: ctx.ref };
  if (e.score !== undefined) event.score = e.score;
  if (e.count !== undefined) event.count = e.count;
  if (e.snapshot !== undefined) event.snapshot = e.snapshot;
  const where = e.loc ?? ctx.fallbackLoc;
  if (where) event.loc = where;
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

/** Refuses event times before 2000 or further ahead of arrival than the allowed clock skew. */
export function checkTimestamp(ts: number, ctx: DecodeContext): StreetWatchError | undefined {
  const latest = ctx.receivedAt + ctx.maxClockSkewMs;
  if (!Number.isFinite(ts) || ts < MIN_READING_TS || ts > latest) {
    return swError('SW_ERR_TS_RANGE', isoOrRaw(ts), `2000-01-01 to ${isoOrRaw(latest)}`);
  }
  return undefined;
}

function isoOrRaw(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
