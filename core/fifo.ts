/**
 * A first-in, first-out line on an array with a moving head: taking from the front costs no
 * copy (`Array.shift` moves every element), and the array is compacted once its taken part is
 * both large and more than half of it. Taken slots are cleared, so what left the line can be
 * collected.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The first in line, left in it. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** Takes the first in line. */
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Takes everything in line, in order. */
  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}
