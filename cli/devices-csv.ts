/**
 * The device list for a bulk import: a CSV file with a header row naming the columns
 * `id,kind,lat,lon` (in any order), and optionally `mobile` (`true`/`false`, empty is false),
 * `gateway` (the device that speaks for this one), `senml_name` and `senml_map` (see
 * senml-map.ts). Pure: it reads text and returns devices, or every bad row with its line number
 * so the whole file can be fixed at once.
 */
import { parse } from 'csv-parse/sync';
import { DeviceCreateBody } from '../core/schemas.js';
import { describeZodError } from '../core/zod-issues.js';
import { parseSenmlMap } from './senml-map.js';

export const DEVICE_CSV_COLUMNS = ['id', 'kind', 'lat', 'lon'] as const;
/** Columns a file may add: the provisioning that decides what is believed of a device. */
export const DEVICE_CSV_OPTIONAL_COLUMNS = ['mobile', 'gateway', 'senml_name', 'senml_map'] as const;
/** Largest CSV accepted: far above any city's fleet, far below what would exhaust memory. */
export const MAX_DEVICE_CSV_BYTES = 32 * 1024 * 1024;

export interface DeviceCsv {
  devices: DeviceCreateBody[];
  /** `line N: problem`, in file order. */
  errors: string[];
}

export function parseDeviceCsv(text: string): DeviceCsv {
  const out: DeviceCsv = { devices: [], errors: [] };
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parse(text, { columns: true, bom: true, trim: true, skip_empty_lines: true, comment: '#', info: true, max_record_size: 4096 });
  } catch (err) {
    out.errors.push((err as Error).message);
    return out;
  }
  const header = rows[0] ? Object.keys(rows[0].record) : [];
  const missing = DEVICE_CSV_COLUMNS.filter((c) => !header.includes(c));
  const known: readonly string[] = [...DEVICE_CSV_COLUMNS, ...DEVICE_CSV_OPTIONAL_COLUMNS];
  const extra = header.filter((c) => !known.includes(c));
  if (rows.length > 0 && (missing.length > 0 || extra.length > 0)) {
    out.errors.push(
      `line 1: the header must name the columns ${DEVICE_CSV_COLUMNS.join(',')} (and may name ${DEVICE_CSV_OPTIONAL_COLUMNS.join(',')})${missing.length ? `; missing: ${missing.join(', ')}` : ''}${extra.length ? `; unknown: ${extra.join(', ')}` : ''}`,
    );
    return out;
  }
  const seen = new Map<string, number>();
  for (const { record, info } of rows) {
    const line = info.lines;
    const provisioning = optionalColumns(record);
    if ('error' in provisioning) {
      out.errors.push(`line ${line}: ${provisioning.error}`);
      continue;
    }
    const body = DeviceCreateBody.safeParse({ id: record.id, kind: record.kind, location: { lat: toNumber(record.lat), lon: toNumber(record.lon) }, ...provisioning.fields });
    if (!body.success) {
      out.errors.push(`line ${line}: ${describeZodError(body.error)}`);
      continue;
    }
    const first = seen.get(body.data.id);
    if (first !== undefined) {
      out.errors.push(`line ${line}: device "${body.data.id}" is already on line ${first}`);
      continue;
    }
    seen.set(body.data.id, line);
    out.devices.push(body.data);
  }
  return out;
}

/** The optional columns as body fields; an empty cell is no value. */
function optionalColumns(record: Record<string, string>): { fields: Record<string, unknown> } | { error: string } {
  const fields: Record<string, unknown> = {};
  const mobile = record.mobile?.toLowerCase();
  if (mobile === 'true' || mobile === '1') fields.mobile = true;
  else if (mobile === 'false' || mobile === '0') fields.mobile = false;
  else if (mobile) return { error: `mobile: "${record.mobile}" is not true or false` };
  if (record.gateway) fields.gateway = record.gateway;
  if (record.senml_name || record.senml_map) {
    const table = parseSenmlMap(record.senml_map ?? '');
    if ('error' in table) return { error: `senml_map: ${table.error}` };
    fields.senml = { name: record.senml_name || null, map: table.map };
  }
  return { fields };
}

/** A CSV number; anything else stays a string so the schema names the bad column. */
function toNumber(s: string | undefined): number | string | undefined {
  if (s === undefined || s === '') return s;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}
