import { describe, expect, it } from 'vitest';
import { Signal } from './signal.js';

describe('Signal', () => {
  it('calls every listener, past one that throws, until it is stopped', () => {
    const signal = new Signal();
    const heard: string[] = [];
    signal.on(() => {
      heard.push('a');
      throw new Error('a listener failing');
    });
    const stopB = signal.on(() => heard.push('b'));
    signal.notify();
    stopB();
    signal.notify();
    expect(heard).toEqual(['a', 'b', 'a']);
  });

  it('calls a listener added twice twice, and stops each on its own', () => {
    const signal = new Signal();
    let n = 0;
    const listener = (): void => void n++;
    const stop = signal.on(listener);
    signal.on(listener);
    signal.notify();
    stop();
    signal.notify();
    expect(n).toBe(3);
  });
});
