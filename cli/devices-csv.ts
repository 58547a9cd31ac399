/**
 * The device list for a bulk import: a CSV file with a header row naming the columns
 * `id,kind,lat,lon` (in any order). Pure: it reads text and returns devices, or every bad row
 * with its line number so the whole file can be fixed at once.
 */
import { parse } from 'csv-parse/sync';
import { DeviceCreateBody } from '../core/schemas.js';
import { describeZodError } from '../core/zod-issues.js';

export const DEVICE_CSV_COLUMNS = ['id', 'kind', 'lat', 'lon'] as const;
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
  const extra = header.filter((c) => !(DEVICE_CSV_COLUMNS as readonly string[]).includes(c));
  if (rows.length > 0 && (missing.length > 0 || extra.length > 0)) {
    out.errors.push(`line 1: the header must name the columns ${DEVICE_CSV_COLUMNS.join(',')}${missing.length ? `; missing: ${missing.join(', ')}` : ''}${extra.length ? `; unknown: ${extra.join(', ')}` : ''}`);
    return out;
  }
  const seen = new Map<string, number>();
  for (const { record, info } of rows) {
    const line = info.lines;
    const body = DeviceCreateBody.safeParse({ id: record.id, kind: record.kind, location: { lat: toNumber(record.lat), lon: toNumber(record.lon) } });
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

/** A CSV number; anything else stays a string so the schema names the bad column. */
function toNumber(s: string | undefined): number | string | undefined {
  if (s === undefined || s === '') return s;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}
