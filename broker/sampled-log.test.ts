import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { ManualClock } from '../test/support/clock.js';
import { swError } from '../core/errors.js';
import { LOGGED_WIRE_CHARS, SampledFailures, SampledLog } from './sampled-log.js';

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

describe('SampledFailures', () => {
  const setup = () => {
    const lines: Record<string, unknown>[] = [];
    const clock = new ManualClock(0);
    const log = new SampledFailures(createLogger('info', {}, { write: (l: string) => void lines.push(JSON.parse(l)) }), 'could not hand a publish to the pipeline', 10_000, clock);
    return { lines, clock, log };
  };
  const unavailable = () => swError('SW_ERR_UNAVAILABLE', 'bus', '5000 publishes to sw.raw already wait for room in the log');

  it('logs one line per code per interval, whatever the number of devices, without a stack for a coded error', () => {
    const { lines, clock, log } = setup();
    for (let i = 0; i < 10_000; i++) expect(log.record(unavailable(), { deviceId: `dev-${i}` })).toBe('SW_ERR_UNAVAILABLE');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ code: 'SW_ERR_UNAVAILABLE', deviceId: 'dev-0', msg: 'could not hand a publish to the pipeline' });
    expect(lines[0]).not.toHaveProperty('err');
    clock.advance(10_000);
    log.record(unavailable(), { deviceId: 'dev-last' });
    expect(lines[1]).toMatchObject({ deviceId: 'dev-last', suppressed: 9_999 });
  });

  it('keeps a bounded stack for an unexpected error, sampled under its own code', () => {
    const { lines, log } = setup();
    log.record(unavailable(), { deviceId: 'a' });
    for (let i = 0; i < 100; i++) expect(log.record(new Error('x'.repeat(10_000)), { deviceId: 'b'.repeat(500) })).toBe('unexpected');
    expect(lines).toHaveLength(2);
    const line = lines[1] as { code: string; err: { message: string; stack: string } };
    expect(line.code).toBe('unexpected');
    expect(line.err.stack).toContain('sampled-log.test');
    expect(JSON.stringify(line).length).toBeLessThan(3_000);
  });

  it('says what is left at the flush, one line per code', () => {
    const { lines, log } = setup();
    for (let i = 0; i < 5; i++) log.record(unavailable(), { deviceId: `d-${i}` });
    log.record(new Error('boom'), { deviceId: 'e' });
    log.flush();
    expect(lines.map((l) => [l.code, l.deviceId, l.suppressed ?? 0])).toEqual([
      ['SW_ERR_UNAVAILABLE', 'd-0', 0],
      ['unexpected', 'e', 0],
      ['SW_ERR_UNAVAILABLE', 'd-4', 3],
    ]);
    log.flush();
    expect(lines).toHaveLength(3);
  });
});
