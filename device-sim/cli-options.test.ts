import { describe, expect, it } from 'vitest';
import { parseDurationArg, parseSpeed, parseTime } from './cli-options.js';

describe('simulator options', () => {
  it('parse speeds, durations and times', () => {
    expect(parseSpeed('20')).toBe(20);
    expect(parseSpeed('max')).toBe(Infinity);
    expect(() => parseSpeed('0')).toThrow();
    expect(parseDurationArg('90')).toBe(90_000);
    expect(parseDurationArg('30m')).toBe(1_800_000);
    expect(() => parseDurationArg('soon')).toThrow();
    expect(parseTime('2026-11-21T08:00:00+08:00')).toBe(Date.UTC(2026, 10, 21, 0));
    expect(parseTime('1000')).toBe(1000);
    expect(() => parseTime('yesterday')).toThrow();
  });
});
