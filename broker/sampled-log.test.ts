import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { ManualClock } from '../test/support/clock.js';
import { LOGGED_WIRE_CHARS, SampledLog } from './sampled-log.js';

describe('SampledLog', () => {
  const setup = () => {
    const lines: Record<string, unknown>[] = [];
    const clock = new ManualClock(0);
    const log = new SampledLog(createLogger('info', {}, { write: (l: string) => void lines.push(JSON.parse(l)) }), 'subscription refused', 'filter', 10_000, clock);
    return { lines, clock, log };
  };

  it('logs the first occurrence, counts the rest of the interval, and says how many went unlogged in the next line', () => {
    const { lines, clock, log } = setup();
    for (let i = 0; i < 1000; i++) log.record('dev-1', `f/${i}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ clientId: 'dev-1', filter: 'f/0', msg: 'subscription refused' });
    clock.advance(10_000);
    log.record('dev-1', 'f/last');
    expect(lines[1]).toMatchObject({ filter: 'f/last', suppressed: 999 });
    // Another client has its own interval.
    log.record('dev-2', 'g');
    expect(lines).toHaveLength(3);
  });

  it('says what is left when the client goes, in one line standing for the latest occurrence', () => {
    const { lines, log } = setup();
    for (let i = 0; i < 5; i++) log.record('dev-1', `f/${i}`);
    log.flush('dev-1');
    expect(lines.map((l) => [l.filter, l.suppressed ?? 0])).toEqual([
      ['f/0', 0],
      ['f/4', 3],
    ]);
    expect(log.size).toBe(0);
    log.flush('dev-1');
    expect(lines).toHaveLength(2);
  });

  it('quotes a bounded prefix of the wire data, with its length', () => {
    const { lines, log } = setup();
    log.record('x'.repeat(500), 'f'.repeat(60_000));
    expect(String(lines[0]!.filter)).toBe(`${'f'.repeat(LOGGED_WIRE_CHARS)}… (60000 characters)`);
    expect(JSON.stringify(lines[0]).length).toBeLessThan(1_000);
  });
});
