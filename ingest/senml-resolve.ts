/**
 * RFC 8428 resolution of a SenML JSON pack, and nothing else: what each record says once the
 * base fields are applied (§4.6). Which device and metric a record belongs to is senml.ts's
 * business. Pure, no I/O.
 *
 * - Base fields (`bn`, `bt`, `bu`, `bv`, `bs`) apply to their record and every later one until
 *   set again (§4).
 * - Name = base name + name (§4.5.1); time = base time + time, seconds, at or above 2**28 since
 *   the epoch, below it relative to "now", the arrival of the publish (§4.5.3); unit = the
 *   record's, else the base unit (§4.5.2); value = base value + value and sum = base sum + sum
 *   (§4.5.4).
 * - A label ending in `_` that is not understood, a version newer than ours, or two versions in
 *   one pack refuse the whole pack (§4.4).
 * - A record holding base fields only is no measurement: it sets the base for the records after
 *   it and resolves to nothing (the first record of §5.1.7).
 * - Resolved records are returned in chronological order (§4.6), stable for equal times.
 */
import type { z } from 'zod';
import {
  MAX_SENML_RECORDS,
  SENML_NAME_RE,
  SENML_RELATIVE_TIME_LIMIT,
  SENML_VERSION,
  SenmlBaseFields,
  SenmlRegularFields,
} from '../core/adapter-schemas.js';
import { StreetWatchError, swError } from '../core/errors.js';
import { describeZodError } from '../core/zod-issues.js';
import { recordError } from './decode.js';

/** A record with its base values applied, as §4.6 defines it. */
export interface ResolvedSenmlRecord {
  /** Position of the record in the pack. */
  index: number;
  name: string;
  unit: string | undefined;
  /** Exactly one of these is set, unless the record carries only a sum. */
  value?: number;
  boolean?: boolean;
  string?: string;
  data?: string;
  sum?: number;
  /** Absolute time, epoch milliseconds. */
  ts: number;
}

export interface ResolvedPack {
  records: ResolvedSenmlRecord[];
  /** Refusals, each with the record index in `details.record` when it concerns one record. */
  rejections: StreetWatchError[];
}

const REGULAR_LABELS = Object.keys(SenmlRegularFields.shape);

interface Base {
  bn: string;
  bt: number;
  bu: string | undefined;
  bv: number;
  bs: number | undefined;
  bver: number | undefined;
}

/**
 * Resolves a parsed pack. `receivedAt` is "now" for relative times. Pack-level problems refuse
 * everything; a bad record costs only itself, except one whose base fields are invalid, which
 * costs the records after it too (they would inherit what cannot be read).
 */
export function resolveSenmlPack(data: unknown, receivedAt: number): ResolvedPack {
  const out: ResolvedPack = { records: [], rejections: [] };
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

  const base: Base = { bn: '', bt: 0, bu: undefined, bv: 0, bs: undefined, bver: undefined };
  for (let i = 0; i < data.length; i++) {
    const record: unknown = data[i];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      out.rejections.push(recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `[${i}]: a SenML record is a JSON object`));
      continue;
    }
    const baseFields = SenmlBaseFields.safeParse(record);
    if (!baseFields.success) {
      const rest = i < data.length - 1 ? `; records [${i + 1}] to [${data.length - 1}] depend on it and were not read` : '';
      out.rejections.push(recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `${describeZodError(baseFields.error, [i])}${rest}`));
      break;
    }
    applyBase(base, baseFields.data);
    if (!REGULAR_LABELS.some((label) => Object.hasOwn(record, label))) continue;
    const fields = SenmlRegularFields.safeParse(record);
    if (!fields.success) {
      out.rejections.push(recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', describeZodError(fields.error, [i])));
      continue;
    }
    const resolved = resolveRecord(i, base, fields.data, receivedAt);
    if (resolved instanceof StreetWatchError) out.rejections.push(resolved);
    else out.records.push(resolved);
  }
  out.records.sort((a, b) => a.ts - b.ts);
  return out;
}

/** §4.4: must-understand labels, and one version per pack that we understand. */
function checkPack(records: unknown[]): StreetWatchError | undefined {
  let version: number | undefined;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) continue;
    for (const label of Object.keys(record)) {
      if (label.endsWith('_')) {
        return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}].${label.slice(0, 64)}: a label ending in "_" must be understood (RFC 8428 §4.4) and this one is not`);
      }
    }
    const bver = (record as { bver?: unknown }).bver;
    if (typeof bver !== 'number') continue;
    if (bver > SENML_VERSION) {
      return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}].bver: SenML version ${bver} is newer than version ${SENML_VERSION}, the one understood here`);
    }
    if (version !== undefined && bver !== version) {
      return swError('SW_ERR_PAYLOAD_SCHEMA', `[${i}].bver: version ${bver} after version ${version}; all records of a pack have one version (RFC 8428 §4.4)`);
    }
    version = bver;
  }
  return undefined;
}

function applyBase(base: Base, fields: z.infer<typeof SenmlBaseFields>): void {
  if (fields.bn !== undefined) base.bn = fields.bn;
  if (fields.bt !== undefined) base.bt = fields.bt;
  if (fields.bu !== undefined) base.bu = fields.bu;
  if (fields.bv !== undefined) base.bv = fields.bv;
  if (fields.bs !== undefined) base.bs = fields.bs;
  if (fields.bver !== undefined) base.bver = fields.bver;
}

/** Doubles: 0.1 + 0.05 is 0.15000000000000002; 15 significant digits is what a double holds exactly. */
const add = (a: number, b: number): number => (a === 0 ? b : b === 0 ? a : Number((a + b).toPrecision(15)));

function resolveRecord(i: number, base: Base, r: z.infer<typeof SenmlRegularFields>, receivedAt: number): ResolvedSenmlRecord | StreetWatchError {
  const name = base.bn + (r.n ?? '');
  if (name === '') return recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `[${i}]: the record has no name (neither "bn" nor "n")`);
  if (!SENML_NAME_RE.test(name)) {
    return recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `[${i}]: ${JSON.stringify(name.slice(0, 80))} is not a SenML name (RFC 8428 §4.5.1: A-Z a-z 0-9 - : . / _, starting with a letter or digit)`);
  }
  const values = [r.v, r.vs, r.vb, r.vd].filter((x) => x !== undefined).length;
  // §4.5.4: a sum is there when the record or the base carries one.
  const sum = r.s === undefined && base.bs === undefined ? undefined : add(base.bs ?? 0, r.s ?? 0);
  if (values > 1) return recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `[${i}]: a record carries exactly one of "v", "vs", "vb", "vd" (RFC 8428 §4.2)`);
  if (values === 0 && sum === undefined) return recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `[${i}]: the record has no value ("v", "vb", "vs", "vd") and no sum (RFC 8428 §4.2)`);
  const time = base.bt + (r.t ?? 0);
  const ts = Math.round(time >= SENML_RELATIVE_TIME_LIMIT ? time * 1000 : receivedAt + time * 1000);
  const out: ResolvedSenmlRecord = { index: i, name, unit: r.u ?? base.bu, ts };
  if (r.v !== undefined) out.value = add(base.bv, r.v);
  if (r.vb !== undefined) out.boolean = r.vb;
  if (r.vs !== undefined) out.string = r.vs;
  if (r.vd !== undefined) out.data = r.vd;
  if (sum !== undefined) out.sum = sum;
  if (!Number.isFinite(ts) || (out.value !== undefined && !Number.isFinite(out.value)) || (sum !== undefined && !Number.isFinite(sum))) {
    return recordError(i, 'SW_ERR_PAYLOAD_SCHEMA', `[${i}]: the resolved time, value or sum is not a finite number`);
  }
  return out;
}
