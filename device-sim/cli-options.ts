/** Option parsers shared by `npm run sim`, `npm run record` and `npm run replay`. */
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../core/duration.js';
import { Timestamp } from '../core/schemas.js';

/** `20`, `0.5` or `max` (as fast as the broker acknowledges). */
export function parseSpeed(v: string): number {
  if (v === 'max') return Infinity;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number or "max"');
  return n;
}

/** `30s`, `5m`, `2h`, or a plain number of seconds. */
export function parseDurationArg(v: string): number {
  const ms = /^\d+(\.\d+)?$/.test(v) ? Math.round(Number(v) * 1000) : parseDuration(v);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('must be a duration like 90s, 30m or 2h (or a number of seconds)');
  return ms;
}

/** `now`, epoch milliseconds, or an RFC 3339 time with an offset. */
export function parseTime(v: string): number {
  if (v === 'now') return Date.now();
  if (/^\d+$/.test(v)) return Number(v);
  const parsed = Timestamp.safeParse(v);
  if (!parsed.success) throw new InvalidArgumentError('must be "now", epoch milliseconds, or an RFC 3339 time like 2026-11-21T08:00:00+08:00');
  return parsed.data;
}

export function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}
