import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('gives back what it was given, in order, through many compactions', () => {
    const line = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    // Pushes two for each one taken, then drains: the head passes the compaction mark many times.
    for (let i = 0; i < 5_000; i++) {
      line.push(next++);
      line.push(next++);
      out.push(line.shift()!);
      expect(line.peek()).toBe(out.length);
    }
    expect(line.length).toBe(5_000);
    while (line.length > 10) out.push(line.shift()!);
    out.push(...line.drain());
    expect(out).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect([line.length, line.shift(), line.peek()]).toEqual([0, undefined, undefined]);
  });

  it('lets go of what it gave back, and keeps its array to about twice what is in line', () => {
    const line = new Fifo<object>();
    for (let i = 0; i < 10_000; i++) line.push({});
    for (let i = 0; i < 9_000; i++) line.shift();
    const items = (line as unknown as { items: (object | undefined)[] }).items;
    expect(items.length).toBeLessThanOrEqual(2 * line.length + 1);
    expect(items.filter((x) => x !== undefined)).toHaveLength(1_000);
  });
});
