import type Database from 'better-sqlite3';
import type { KeyValueStore } from '../../ports.js';

/**
 * Values remembered at most: a thousand devices' rule states are a few thousand keys, ten
 * thousand devices' some tens of thousands (a few MiB of JSON text).
 */
export const KV_CACHE_MAX = 60_000;

/**
 * Rule state in SQLite. Reads are served from the values this connection last read or wrote
 * (JSON text, so callers still get copies): the rules read the state of every device of a batch,
 * and a point query per key grew with the fleet. This process is the one writer of its data
 * directory's rule state (the embedded mode is one process); a compare-and-set still compares
 * with the table inside its transaction, and a lost race forgets the key, so a value another
 * connection changed is read again.
 */
export class SqliteKv implements KeyValueStore {
  private readonly getStmt;
  private readonly setStmt;
  private readonly delStmt;
  private readonly setTx;
  private readonly casTx;
  private readonly casManyTx;
  /** Key → its JSON text, or null when it is known to be absent. */
  private readonly cache = new Map<string, string | null>();
  private readonly delRange;
  private readonly range;

  constructor(db: Database.Database) {
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?');
    this.setStmt = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.delStmt = db.prepare('DELETE FROM kv WHERE key = ?');
    this.setTx = db.transaction((entries: readonly [string, string | undefined][]) => {
      for (const [k, v] of entries) {
        if (v === undefined) this.delStmt.run(k);
        else this.setStmt.run(k, v);
      }
    });
    // A prefix is the key range [prefix, prefix + U+FFFF): the primary key's order finds it.
    this.delRange = db.prepare("DELETE FROM kv WHERE key >= ? AND key < ? || char(65535)");
    this.range = db.prepare<[string, string, string, number], { key: string }>("SELECT key FROM kv WHERE key >= ? AND key > ? AND key < ? || char(65535) ORDER BY key LIMIT ?");
    this.casTx = db.transaction((key: string, expected: string | undefined, next: string | undefined): boolean => this.cas(key, expected, next));
    this.casManyTx = db.transaction((changes: readonly [string, string | undefined, string | undefined][]): boolean[] => changes.map(([k, e, n]) => this.cas(k, e, n)));
  }

  private cas(key: string, expected: string | undefined, next: string | undefined): boolean {
    if (this.getStmt.get(key)?.value !== expected) return false;
    if (next === undefined) this.delStmt.run(key);
    else this.setStmt.run(key, next);
    return true;
  }

  private remember(key: string, value: string | null): void {
    this.cache.delete(key);
    this.cache.set(key, value);
    // The oldest first: Map keeps insertion order, and a key seen again moves to the end.
    if (this.cache.size > KV_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
  }

  async getMany<T>(keys: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const k of keys) {
      let v = this.cache.get(k);
      if (v === undefined) {
        v = this.getStmt.get(k)?.value ?? null;
        this.remember(k, v);
      }
      if (v !== null) out.set(k, JSON.parse(v) as T);
    }
    return out;
  }

  async setMany(entries: ReadonlyMap<string, unknown>): Promise<void> {
    if (entries.size === 0) return;
    const texts = [...entries].map(([k, v]): [string, string | undefined] => [k, jsonOrUndefined(v)]);
    this.setTx(texts);
    for (const [k, v] of texts) this.remember(k, v ?? null);
  }

  async compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    // BEGIN IMMEDIATE: the read and the write hold the write lock together, so a second
    // process on the same file cannot slip in between.
    const n = jsonOrUndefined(next);
    const won = this.casTx.immediate(key, jsonOrUndefined(expected), n);
    this.settle(key, won, n);
    return won;
  }

  async compareAndSetMany(changes: readonly { key: string; expected: unknown; next: unknown }[]): Promise<boolean[]> {
    if (changes.length === 0) return [];
    const texts = changes.map((c): [string, string | undefined, string | undefined] => [c.key, jsonOrUndefined(c.expected), jsonOrUndefined(c.next)]);
    const won = this.casManyTx.immediate(texts);
    texts.forEach(([k, , n], i) => this.settle(k, won[i]!, n));
    return won;
  }

  /** After a committed compare-and-set: the new value, or nothing known (read it again). */
  private settle(key: string, won: boolean, next: string | undefined): void {
    if (won) this.remember(key, next ?? null);
    else this.cache.delete(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const n = this.delRange.run(prefix, prefix).changes;
    for (const k of [...this.cache.keys()]) if (k.startsWith(prefix)) this.cache.delete(k);
    return n;
  }

  async scanPrefix(prefix: string, cursor?: string): Promise<{ keys: string[]; next: string | undefined }> {
    const keys = this.range.all(prefix, cursor ?? '', prefix, KV_SCAN_PAGE + 1).map((r) => r.key);
    const page = keys.slice(0, KV_SCAN_PAGE);
    return { keys: page, next: keys.length > KV_SCAN_PAGE ? page.at(-1) : undefined };
  }
}

export const KV_SCAN_PAGE = 1_000;

function jsonOrUndefined(v: unknown): string | undefined {
  return v === undefined ? undefined : JSON.stringify(v);
}
