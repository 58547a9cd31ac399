/**
 * Time in words for operators: short durations for countdowns, local clock times for records.
 * Pure functions of their inputs, so countdowns tick from one `now` for the whole page.
 */
import type { I18n } from './i18n.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration in the two largest units that matter: `1 天 3 小时`, `25 分`, `40 秒`. */
export function formatDuration(ms: number, i18n: Pick<I18n, 't'>): string {
  const abs = Math.abs(ms);
  const { t } = i18n;
  if (abs < MINUTE) return t('seconds', { n: Math.max(0, Math.floor(abs / 1000)) });
  if (abs < HOUR) return t('minutes', { n: Math.floor(abs / MINUTE) });
  if (abs < DAY) {
    const h = Math.floor(abs / HOUR);
    const m = Math.floor((abs % HOUR) / MINUTE);
    return m ? `${t('hours', { n: h })} ${t('minutes', { n: m })}` : t('hours', { n: h });
  }
  const d = Math.floor(abs / DAY);
  const h = Math.floor((abs % DAY) / HOUR);
  return h ? `${t('days', { n: d })} ${t('hours', { n: h })}` : t('days', { n: d });
}

/** `mm:ss` under an hour, for the last stretch before a deadline. */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function formatAgo(at: number, now: number, i18n: Pick<I18n, 't'>): string {
  if (now - at < 10_000) return i18n.t('justNow');
  return i18n.t('ago', { d: formatDuration(now - at, i18n) });
}

export function formatTime(at: number, lang: string): string {
  return new Date(at).toLocaleString(lang, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function formatPercent(rate: number | null): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)}%`;
}
