import { describe, expect, it } from 'vitest';
import { formatReport, parseTime } from './backtest-cli.js';

describe('backtest command line', () => {
  const now = Date.UTC(2026, 6, 1, 12, 0, 0);

  it('reads times as RFC 3339, epoch ms, now, or a duration ago', () => {
    expect(parseTime('2026-07-01T08:00:00+08:00', now)).toBe(Date.UTC(2026, 6, 1, 0, 0, 0));
    expect(parseTime('1782907200000', now)).toBe(1782907200000);
    expect(parseTime('now', now)).toBe(now);
    expect(parseTime('-24h', now)).toBe(now - 86_400_000);
    expect(parseTime('now-30m', now)).toBe(now - 1_800_000);
    expect(() => parseTime('yesterday-ish', now)).toThrow(/is not a time/);
  });

  it('prints one line per rule and zone, with totals and what was not replayed', () => {
    const text = formatReport(
      {
        from: now - 3_600_000,
        to: now,
        readings: 42,
        byResolution: { raw: 42 },
        rows: [
          { ruleId: 'underpass-flooding', kind: 'threshold', zoneId: 'liede-tunnel', alerts: 3, resolved: 2, tickets: 1 },
          { ruleId: 'smoke-detected', kind: 'threshold', zoneId: null, alerts: 0, resolved: 0, tickets: 0 },
        ],
        skipped: [{ ruleId: 'fire-camera', reason: 'camera events are not kept in the time-series store' }],
      },
      'rules.yaml',
    );
    expect(text).toContain('2026-07-01T11:00:00.000Z → 2026-07-01T12:00:00.000Z: 42 readings replayed');
    expect(text).toMatch(/underpass-flooding +threshold +liede-tunnel +3 +2 +1\n/);
    expect(text).toMatch(/smoke-detected +threshold +- +0 +0 +0\n/);
    expect(text).toMatch(/total +3 +2 +1\n/);
    expect(text).toContain('not replayed: fire-camera');
  });
});
