import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { connectWithRetry, redactUrl } from './connect-retry.js';
import { StreetWatchError } from './errors.js';

function capture(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('connectWithRetry', () => {
  it('gives up at once on a refusal that waiting cannot change', async () => {
    const { logger } = capture();
    let attempts = 0;
    const refusal = new StreetWatchError('SW_ERR_SCHEMA_NEWER', ['Redis namespace "sw:"', 9, 2]);
    const outcome = connectWithRetry('Redis', 'redis://127.0.0.1:6379', async () => {
      attempts++;
      throw refusal;
    }, { logger, backoffMs: { min: 1, max: 4 } });
    await expect(outcome).rejects.toBe(refusal);
    expect(attempts).toBe(1);
  });

  it('logs each failed attempt naming the service and where it was looked for, then connects', async () => {
    const { logger, lines } = capture();
    let attempts = 0;
    await connectWithRetry(
      'Kafka',
      '127.0.0.1:9092',
      async () => {
        if (++attempts < 3) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['Kafka', 'down'], { cause: new Error('connect ECONNREFUSED 127.0.0.1:9092') });
      },
      { logger, backoffMs: { min: 1, max: 4 } },
    );
    expect(attempts).toBe(3);
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.level, l.msg.replace(/[\d.]+ s$/, 'N s')])).toEqual([
      [40, 'Kafka at 127.0.0.1:9092 is unreachable (connect ECONNREFUSED 127.0.0.1:9092); retrying in N s'],
      [40, 'Kafka at 127.0.0.1:9092 is unreachable (connect ECONNREFUSED 127.0.0.1:9092); retrying in N s'],
      [30, 'connected to Kafka at 127.0.0.1:9092'],
    ]);
  });

  it('stops waiting when aborted', async () => {
    const { logger } = capture();
    const ctl = new AbortController();
    const pending = connectWithRetry('Redis', 'redis://127.0.0.1:6379', () => Promise.reject(new Error('ECONNREFUSED')), { logger, signal: ctl.signal, backoffMs: { min: 60_000, max: 60_000 } });
    setTimeout(() => ctl.abort(new Error('shutting down')), 10);
    await expect(pending).rejects.toThrow('shutting down');
  });
});

describe('redactUrl', () => {
  it('drops credentials and keeps the rest', () => {
    expect(redactUrl('redis://:hunter2@redis:6379/2')).toBe('redis://redis:6379/2');
    expect(redactUrl('rediss://user:pw@cache.example:6380')).toBe('rediss://cache.example:6380');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
