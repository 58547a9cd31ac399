import type Database from 'better-sqlite3';
import type { KeyValueStore } from '../../ports.js';

export class SqliteKv implements KeyValueStore {
  private readonly getStmt;
  private readonly setStmt;
  private readonly delStmt;
  private readonly setTx;
  private readonly casTx;
  private readonly casManyTx;

  constructor(db: Database.Database) {
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?');
    this.setStmt = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.delStmt = db.prepare('DELETE FROM kv WHERE key = ?');
    this.setTx = db.transaction((entries: ReadonlyMap<string, unknown>) => {
      for (const [k, v] of entries) {
        if (v === undefined) this.delStmt.run(k);
        else this.setStmt.run(k, JSON.stringify(v));
      }
    });
    this.casTx = db.transaction((key: string, expected: string | undefined, next: string | undefined): boolean => this.cas(key, expected, next));
    this.casManyTx = db.transaction((changes: readonly { key: string; expected: unknown; next: unknown }[]): boolean[] =>
      changes.map((c) => this.cas(c.key, jsonOrUndefined(c.expected), jsonOrUndefined(c.next))),
    );
  }

  private cas(key: string, expected: string | undefined, next: string | undefined): boolean {
    if (this.getStmt.get(key)?.value !== expected) return false;
    if (next === undefined) this.delStmt.run(key);
    else this.setStmt.run(key, next);
    return true;
  }

  async getMany<T>(keys: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const k of keys) {
      const row = this.getStmt.get(k);
      if (row) out.set(k, JSON.parse(row.value) as T);
    }
    return out;
  }

  async setMany(entries: ReadonlyMap<string, unknown>): Promise<void> {
    if (entries.size > 0) this.setTx(entries);
  }

  async compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    // BEGIN IMMEDIATE: the read and the write hold the write lock together, so a second
    // process on the same file cannot slip in between.
    return this.casTx.immediate(key, jsonOrUndefined(expected), jsonOrUndefined(next));
  }

  async compareAndSetMany(changes: readonly { key: string; expected: unknown; next: unknown }[]): Promise<boolean[]> {
    return changes.length === 0 ? [] : this.casManyTx.immediate(changes);
  }
}

function jsonOrUndefined(v: unknown): string | undefined {
  return v === undefined ? undefined : JSON.stringify(v);
}
