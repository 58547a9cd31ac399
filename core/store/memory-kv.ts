import type { KeyValueStore } from '../ports.js';

/** Keys one scanPrefix page holds. */
const SCAN_PAGE = 1_000;

/**
 * A KeyValueStore in process memory, for what must not touch live state (backtests) and for
 * tests. Values are kept as JSON text, so callers get copies and the same equality as the
 * durable adapters.
 */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly data = new Map<string, string>();

  async getMany<T>(keys: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const k of keys) {
      const v = this.data.get(k);
      if (v !== undefined) out.set(k, JSON.parse(v) as T);
    }
    return out;
  }

  async setMany(entries: ReadonlyMap<string, unknown>): Promise<void> {
    for (const [k, v] of entries) this.put(k, v);
  }

  async compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    if (this.data.get(key) !== (expected === undefined ? undefined : JSON.stringify(expected))) return false;
    this.put(key, next);
    return true;
  }

  async compareAndSetMany(changes: readonly { key: string; expected: unknown; next: unknown }[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const c of changes) out.push(await this.compareAndSet(c.key, c.expected, c.next));
    return out;
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for (const k of [...this.data.keys()]) if (k.startsWith(prefix) && this.data.delete(k)) n++;
    return n;
  }

  async scanPrefix(prefix: string, cursor?: string): Promise<{ keys: string[]; next: string | undefined }> {
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix) && (cursor === undefined || k > cursor)).sort();
    const page = keys.slice(0, SCAN_PAGE);
    return { keys: page, next: keys.length > SCAN_PAGE ? page.at(-1) : undefined };
  }

  /** Keys held, for tests and diagnostics. */
  get size(): number {
    return this.data.size;
  }

  private put(key: string, value: unknown): void {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, JSON.stringify(value));
  }
}
