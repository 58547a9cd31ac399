/**
 * `v1/devices/{id}/senml`: a SenML JSON pack (RFC 8428) resolved into readings. Pure, no I/O.
 *
 * Records are resolved as RFC 8428 §4.6 describes: base fields carry forward to later records
 * until set again (§4.1), the name is base name + name, the time base time + time (relative
 * times counted from the arrival of the publish), the unit the record's or else the base unit,
 * the value base value + value; the resolved records are in chronological order. Each record is
 * then mapped to a StreetWatch metric (see senml-names.ts) and checked like telemetry. A refused
 * record costs only itself: the others are kept.
 */
import type { z } from 'zod';
import { StreetWatchError, swError } from '../core/errors.js';
import {
  MAX_SENML_RECORDS,
  SENML_NAME_RE,
  SENML_RELATIVE_TIME_LIMIT,
  SENML_VERSION,
  SenmlBaseFields,
  SenmlRegularFields,
} from '../core/adapter-schemas.js';
import { checkMetric } from '../core/metric-catalog.js';
import { describeZodError } from '../core/zod-issues.js';
import { checkTimestamp, jsonPayload, NOT_JSON, type DecodeContext, type Decoded, type DecodedReading } from './decode.js';
import { metricForSenmlName, toMetricUnit } from './senml-names.js';

interface BaseValues {
  bn: string;
  bt: number;
  bu: string | undefined;
  bv: number;
}

export function decodeSenml(payload: Buffer, ctx: DecodeContext): Decoded<DecodedReading> {
  const out: Decoded<DecodedReading> = { items: [], rejections: [] };
  const data = jsonPayload(payload, ctx, out);
  if (data === NOT_JSON) return out;
  if (!Array.isArray(data)) {
    out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', 'a SenML pack is a JSON array of records'));
    return out;
  }
  if (data.length === 0 || data.length > MAX_SENML_RECORDS) {
    out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', `a SenML pack must hold 1 to ${MAX_SENML_RECORDS} records, got ${data.length}`));
    return out;
  }
  const packError = checkPack(data);
  if (packError) {
    out.rejections.push(packError);
    return out;
  }

  const base: BaseValues = { bn: '', bt: 0, bu: undefined, bv: 0 };
  for (let i = 0; i < data.length; i++) {
    const record: unknown = data[i];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}]: a SenML record is a JSON object`));
      continue;
    }
    const baseFields = SenmlBaseFields.safeParse(record);
    if (!baseFields.success) {
      // Later records inherit these base fields, so none of them can be resolved either.
      const rest = i < data.length - 1 ? `; records [${i + 1}] to [${data.length - 1}] depend on it and were not read` : '';
      out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', `${describeZodError(baseFields.error, [i])}${rest}`));
      break;
    }
    applyBase(base, baseFields.data);
    const fields = SenmlRegularFields.safeParse(record);
    if (!fields.success) {
      out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', describeZodError(fields.error, [i])));
      continue;
    }
    const resolved = resolveRecord(i, base, fields.data, ctx);
    if (resolved instanceof StreetWatchError) out.rejections.push(resolved);
    else out.items.push(resolved);
  }
  // §4.6: resolved records are in chronological order (the sort is stable for equal times).
  out.items.sort((a, b) => a.ts - b.ts);
  return out;
}

/**
 * Pack-level refusals, before any record is used: a label ending in `_` must be understood or
 * the pack rejected (§4.4), and so must a version newer than ours.
 */
function checkPack(records: unknown[]): StreetWatchError | undefined {
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) continue;
    for (const label of Object.keys(record)) {
      if (label.endsWith('_')) {
        return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}].${label.slice(0, 64)}: a label ending in "_" must be understood (RFC 8428 §4.4) and this one is not`);
      }
    }
    const version = (record as { bver?: unknown }).bver;
    if (typeof version === 'number' && version > SENML_VERSION) {
      return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}].bver: SenML version ${version} is newer than version ${SENML_VERSION}, the one understood here`);
    }
  }
  return undefined;
}

function applyBase(base: BaseValues, fields: z.infer<typeof SenmlBaseFields>): void {
  if (fields.bn !== undefined) base.bn = fields.bn;
  if (fields.bt !== undefined) base.bt = fields.bt;
  if (fields.bu !== undefined) base.bu = fields.bu;
  if (fields.bv !== undefined) base.bv = fields.bv;
}

function resolveRecord(i: number, base: BaseValues, r: z.infer<typeof SenmlRegularFields>, ctx: DecodeContext): DecodedReading | StreetWatchError {
  const name = base.bn + (r.n ?? '');
  if (name === '') return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}]: the record has no name (neither "bn" nor "n")`);
  if (!SENML_NAME_RE.test(name)) {
    return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}]: ${JSON.stringify(name.slice(0, 80))} is not a SenML name (RFC 8428 §4.5.1: A-Z a-z 0-9 - : . / _, starting with a letter or digit)`);
  }
  const valueFields = [r.v, r.vs, r.vb, r.vd].filter((x) => x !== undefined).length;
  if (valueFields > 1) return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}]: a record carries exactly one of "v", "vs", "vb", "vd"`);
  const metric = metricForSenmlName(name);
  if (metric === undefined) return swError('SW_ERR_METRIC_UNKNOWN', JSON.stringify(name.slice(0, 80)));
  if (valueFields === 0) return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}]: ${metric}: the record has no value ("v" or "vb"); sums alone are not stored`);
  if (r.vs !== undefined || r.vd !== undefined) return swError('SW_ERR_METRIC_TYPE', metric, 'number ("v") or boolean ("vb")');

  const time = base.bt + (r.t ?? 0);
  const ts = Math.round(time >= SENML_RELATIVE_TIME_LIMIT ? time * 1000 : ctx.receivedAt + time * 1000);
  const tsError = checkTimestamp(ts, ctx);
  if (tsError) return tsError;

  let raw: number | boolean;
  if (r.vb !== undefined) {
    // A base value is added to numbers only; a boolean stands as sent.
    raw = r.vb;
  } else {
    const unit = r.u ?? base.bu;
    // Doubles: 0.1 + 0.05 is 0.15000000000000002; 15 significant digits is what a double holds exactly.
    const value = base.bv === 0 ? r.v! : Number((base.bv + r.v!).toPrecision(15));
    const converted = toMetricUnit(metric, unit, value);
    if (!converted.ok) return swError('SW_ERR_UNIT_UNSUPPORTED', metric, JSON.stringify(unit), converted.accepted);
    raw = converted.value;
  }
  const check = checkMetric(metric, raw);
  if (!check.ok) return new StreetWatchError(check.code, check.args);
  const reading: DecodedReading = { deviceId: ctx.deviceId, metric, value: check.value, ts, receivedAt: ctx.receivedAt, ref: ctx.ref };
  if (check.unit !== undefined) reading.unit = check.unit;
  if (ctx.fallbackLoc) reading.loc = ctx.fallbackLoc;
  return reading;
}
