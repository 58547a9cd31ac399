import { swError, type StreetWatchError } from '../core/errors.js';

/** Rejections reported one by one per publish; the rest are summarized in one more message. */
export const MAX_REJECTIONS_PER_PUBLISH = 10;

/**
 * The refusals a device is told about: the first ten as they are, then one
 * SW_ERR_MORE_REJECTIONS counting the rest by code, so that a bad pack of 1000 records costs the
 * device eleven messages, not a thousand. (Each refusal is still counted in /metrics by its code.)
 */
export function rejectionLetters(errors: readonly StreetWatchError[]): StreetWatchError[] {
  if (errors.length <= MAX_REJECTIONS_PER_PUBLISH) return [...errors];
  const rest = errors.slice(MAX_REJECTIONS_PER_PUBLISH);
  const byCode = new Map<string, number>();
  for (const e of rest) byCode.set(e.code, (byCode.get(e.code) ?? 0) + 1);
  const summary = [...byCode].map(([code, n]) => `${code} ×${n}`).join(', ');
  return [...errors.slice(0, MAX_REJECTIONS_PER_PUBLISH), swError('SW_ERR_MORE_REJECTIONS', rest.length, summary)];
}
