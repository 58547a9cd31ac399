/**
 * What became of one raw publish that HTTP ingest sent through the pipeline: ingest writes it to
 * the key-value store under the publish's `reportTo`, the API reads it to answer the request
 * record by record. The same decoding and the same coded refusals as over MQTT, told back.
 */
import type { StreetWatchError } from './errors.js';

/** Refusals a report keeps; beyond, the last entry counts the rest (as a device's errors topic does). */
export const MAX_REPORT_ERRORS = 1000;

export interface IngestReportError {
  /** The object (telemetry array) or record (SenML pack) it concerns, when it concerns one. */
  record?: number;
  code: string;
  message: string;
}

export interface IngestReport {
  /** Readings (and camera events) kept, by object or record index: [index, count]. */
  stored: [number, number][];
  errors: IngestReportError[];
}

/** The key-value key of the report of a raw publish. */
export function ingestReportKey(rawId: string): string {
  return `ingest:report:${rawId}`;
}

export function ingestReport(kept: readonly { index: number }[], rejections: readonly StreetWatchError[]): IngestReport {
  const counts = new Map<number, number>();
  for (const { index } of kept) counts.set(index, (counts.get(index) ?? 0) + 1);
  const errors: IngestReportError[] = rejections.slice(0, MAX_REPORT_ERRORS).map((e) => {
    const record = (e.details as { record?: number } | undefined)?.record;
    return record === undefined ? { code: e.code, message: e.message } : { record, code: e.code, message: e.message };
  });
  if (rejections.length > MAX_REPORT_ERRORS) errors.push({ code: 'SW_ERR_MORE_REJECTIONS', message: `${rejections.length - MAX_REPORT_ERRORS} more rejections in this publish are not listed` });
  return { stored: [...counts].sort((a, b) => a[0] - b[0]), errors };
}
