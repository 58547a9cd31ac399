/**
 * A SenML mapping table written on one line, for the command line and CSV files:
 * `suffix=metric`, `@unit=metric` or `suffix@unit=metric`, entries separated by `;`
 * (`open=manhole_open;voltage@V=mains_voltage`). Pure.
 */
import { SenmlMapEntry } from '../core/schemas.js';
import { describeZodError } from '../core/zod-issues.js';

const ENTRY_RE = /^([^@=]*)(?:@([^=]+))?=(.+)$/;

/** The table, or the first entry that is not one with what is wrong with it. */
export function parseSenmlMap(text: string): { map: SenmlMapEntry[] } | { error: string } {
  const map: SenmlMapEntry[] = [];
  for (const raw of text.split(';').map((e) => e.trim()).filter(Boolean)) {
    const m = ENTRY_RE.exec(raw);
    if (!m) return { error: `"${raw}" is not suffix=metric, @unit=metric or suffix@unit=metric` };
    const entry = SenmlMapEntry.safeParse({ ...(m[1] ? { suffix: m[1] } : {}), ...(m[2] ? { unit: m[2] } : {}), metric: m[3] });
    if (!entry.success) return { error: `"${raw}": ${describeZodError(entry.error)}` };
    map.push(entry.data);
  }
  return { map };
}

/** The one-line form of a table (what `devices list` shows). */
export function formatSenmlMap(map: readonly SenmlMapEntry[]): string {
  return map.map((e) => `${e.suffix ?? ''}${e.unit === undefined ? '' : `@${e.unit}`}=${e.metric}`).join(';');
}
