import type { KeyValueStore } from '../../ports.js';
import { CHUNK, type Ctx } from './context.js';

export class RedisKv implements KeyValueStore {
  constructor(private readonly c: Ctx) {}

  getMany<T>(keys: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    if (keys.length === 0) return Promise.resolve(out);
    return this.c.run(async () => {
      for (let i = 0; i < keys.length; i += CHUNK) {
        const chunk = keys.slice(i, i + CHUNK);
        const values = await this.c.redis.mget(...chunk.map((k) => this.c.keys.kv(k)));
        chunk.forEach((k, j) => {
          const v = values[j];
          if (v !== null && v !== undefined) out.set(k, JSON.parse(v) as T);
        });
      }
      return out;
    });
  }

  setMany(entries: ReadonlyMap<string, unknown>): Promise<void> {
    if (entries.size === 0) return Promise.resolve();
    return this.c.run(async () => {
      // MULTI/EXEC: all of the batch's rule state lands, or none of it.
      const tx = this.c.redis.multi();
      for (const [k, v] of entries) {
        if (v === undefined) tx.del(this.c.keys.kv(k));
        else tx.set(this.c.keys.kv(k), JSON.stringify(v));
      }
      const replies = await tx.exec();
      const failed = replies?.find(([err]) => err);
      if (failed) throw failed[0];
    });
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.c.run(async () => {
      let deleted = 0;
      let cursor: string | undefined;
      do {
        const page = await this.scan(prefix, cursor);
        if (page.keys.length > 0) deleted += await this.c.redis.unlink(...page.keys.map((k) => this.c.keys.kv(k)));
        cursor = page.next;
      } while (cursor !== undefined);
      return deleted;
    });
  }

  scanPrefix(prefix: string, cursor?: string): Promise<{ keys: string[]; next: string | undefined }> {
    return this.c.run(() => this.scan(prefix, cursor));
  }

  /** SCAN over the namespace's keyspace: pages may come back empty before the end. */
  private async scan(prefix: string, cursor: string | undefined): Promise<{ keys: string[]; next: string | undefined }> {
    const base = this.c.keys.kv('');
    // MATCH is a glob: the prefix's own glob characters are escaped.
    const pattern = `${base}${prefix}`.replace(/[*?[\]\\]/g, '\\$&') + '*';
    const [next, keys] = await this.c.redis.scan(cursor ?? '0', 'MATCH', pattern, 'COUNT', 1000);
    return { keys: keys.map((k) => k.slice(base.length)), next: next === '0' ? undefined : next };
  }

  compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('compareAndSet')(1, this.c.keys.kv(key), ...json(expected), ...json(next))) === 1);
  }

  compareAndSetMany(changes: readonly { key: string; expected: unknown; next: unknown }[]): Promise<boolean[]> {
    if (changes.length === 0) return Promise.resolve([]);
    // Sent together, each script atomic on its own key: one round trip for the batch.
    return this.c.run(async () => (await Promise.all(changes.map((c) => this.c.script('compareAndSet')(1, this.c.keys.kv(c.key), ...json(c.expected), ...json(c.next))))).map((r) => r === 1));
  }
}

function json(v: unknown): [string, string] {
  return v === undefined ? ['0', ''] : ['1', JSON.stringify(v)];
}
