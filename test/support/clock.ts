import type { Clock } from '../../core/ports.js';

/** A clock that moves only when the test says so: deadlines are reached by `advance`, not by waiting. */
export class ManualClock implements Clock {
  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }

  set(t: number): void {
    this.t = t;
  }
}
