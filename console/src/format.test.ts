import { describe, expect, it } from 'vitest';
import { formatClock, formatDuration, formatPercent } from './format.js';
import { makeI18n } from './i18n.js';

describe('durations', () => {
  const zh = makeI18n('zh-CN');
  const en = makeI18n('en');
  it('says the two largest units', () => {
    expect(formatDuration(42_000, zh)).toBe('42 秒');
    expect(formatDuration(25 * 60_000 + 5_000, zh)).toBe('25 分');
    expect(formatDuration(3 * 3_600_000 + 12 * 60_000, zh)).toBe('3 小时 12 分');
    expect(formatDuration(26 * 3_600_000, en)).toBe('1 d 2 h');
    expect(formatDuration(-2 * 3_600_000, en)).toBe('2 h');
  });

  it('counts the last stretch in minutes and seconds', () => {
    expect(formatClock(29 * 60_000 + 57_000)).toBe('29:57');
    expect(formatClock(5_000)).toBe('00:05');
  });

  it('prints rates, and a dash when there is none', () => {
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.8333)).toBe('83.3%');
    expect(formatPercent(null)).toBe('—');
  });
});
