/**
 * The layout version of a namespace's keys (keys.ts), kept in `{prefix}schema`, and the ordered
 * steps that bring an older namespace to it: the Redis counterpart of the SQLite databases'
 * `PRAGMA user_version` (core/store/sqlite/migrations.ts). One process runs the steps, holding
 * `{prefix}schema:lock`; the others wait for the version. A namespace written by a newer
 * StreetWatch is refused (SW_ERR_SCHEMA_NEWER).
 */
import { randomUUID } from 'node:crypto';
import { movedRuleStateKey } from '../../device-state.js';
import { StreetWatchError } from '../../errors.js';
import type { Ticket } from '../../schemas.js';
import { capTimeline } from '../../tickets/timeline.js';
import type { Ctx } from './context.js';

export interface RedisMigration {
  version: number;
  name: string;
  up(c: Ctx): Promise<void>;
}

/** How long one process may hold the migration lock before another may take it over. */
const LOCK_MS = 120_000;
/** How long a process waits for another one's migration before it gives up (and retries start-up). */
const WAIT_MS = 150_000;

async function* scan(c: Ctx, match: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await c.redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    if (keys.length > 0) yield keys;
    cursor = next;
  } while (cursor !== '0');
}

export const REDIS_MIGRATIONS: readonly RedisMigration[] = [
  // The layout of keys.ts as the releases before versions wrote it.
  { version: 1, name: 'devices, tickets, outbox, timers, supervision orders, tokens and rule state', up: async () => undefined },
  {
    version: 2,
    name: 'rule state of each device under its key prefix; settled outbox messages by age; timelines bounded',
    up: async (c) => {
      const kv = c.keys.kv('');
      for await (const keys of scan(c, `${kv}rule:*`)) {
        for (const key of keys) {
          const moved = movedRuleStateKey(key.slice(kv.length));
          if (moved !== undefined) await c.redis.rename(key, c.keys.kv(moved));
        }
      }
      const item = c.keys.outboxItem('');
      for await (const keys of scan(c, `${item}*`)) {
        const pipe = c.redis.pipeline();
        for (const key of keys) pipe.hmget(key, 'state', 'next');
        const replies = (await pipe.exec()) ?? [];
        const settled: (string | number)[] = [];
        keys.forEach((key, i) => {
          const [state, next] = (replies[i]?.[1] ?? []) as (string | null)[];
          if (state === 'delivered' || state === 'failed') settled.push(Number(next ?? 0), key.slice(item.length));
        });
        if (settled.length > 0) await c.redis.zadd(c.keys.outboxSettled, ...settled);
      }
      // Timelines written before they were bounded (see the SQLite store's step).
      const ticket = c.keys.ticket('');
      for await (const keys of scan(c, `${ticket}*`)) {
        const pipe = c.redis.pipeline();
        for (const key of keys) pipe.hget(key, 'body');
        const bodies = (await pipe.exec()) ?? [];
        for (const [i, key] of keys.entries()) {
          const body = bodies[i]?.[1] as string | null | undefined;
          if (!body) continue;
          const t = JSON.parse(body) as Ticket;
          const timeline = capTimeline(t.timeline ?? []);
          if (timeline.length !== (t.timeline ?? []).length) await c.redis.hset(key, 'body', JSON.stringify({ ...t, timeline }));
        }
      }
    },
  },
  {
    version: 3,
    name: 'tickets by department; people\'s reports and their photos, kept until they expire',
    // Reports and photos are new keys; tickets saved before departments were indexed are indexed
    // under their lead department (none had co-handlers), as save-ticket.lua indexes them.
    up: async (c) => {
      const ticket = c.keys.ticket('');
      for await (const keys of scan(c, `${ticket}*`)) {
        const pipe = c.redis.pipeline();
        for (const key of keys) pipe.hget(key, 'body');
        const bodies = (await pipe.exec()) ?? [];
        const index = c.redis.pipeline();
        for (const [i, key] of keys.entries()) {
          const body = bodies[i]?.[1] as string | null | undefined;
          const t = body ? (JSON.parse(body) as Partial<Ticket>) : undefined;
          if (!t?.department) continue;
          const id = key.slice(ticket.length);
          index.zadd(c.keys.departmentIndex(t.department), t.createdAt ?? 0, id);
          index.sadd(`${c.keys.prefix}tdps:${id}`, t.department);
        }
        await index.exec();
      }
    },
  },
];

export const REDIS_SCHEMA_VERSION = REDIS_MIGRATIONS.at(-1)!.version;

/** Brings the namespace to REDIS_SCHEMA_VERSION; resolves with the versions it went from and to. */
export async function migrateRedis(c: Ctx, label: string, migrations: readonly RedisMigration[] = REDIS_MIGRATIONS): Promise<{ from: number; to: number }> {
  const latest = migrations.at(-1)?.version ?? 0;
  const version = async (): Promise<number> => Number((await c.redis.get(c.keys.schema)) ?? 0);
  const from = await version();
  if (from > latest) throw new StreetWatchError('SW_ERR_SCHEMA_NEWER', [label, from, latest]);
  if (from === latest) return { from, to: from };
  const owner = randomUUID();
  const deadline = Date.now() + WAIT_MS;
  while ((await c.redis.set(c.keys.schemaLock, owner, 'PX', LOCK_MS, 'NX')) !== 'OK') {
    if ((await version()) >= latest) return { from, to: latest };
    if (Date.now() > deadline) throw new StreetWatchError('SW_ERR_UNAVAILABLE', [label, 'another process has been migrating its keys for too long']);
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    for (const m of migrations) {
      if (m.version <= (await version())) continue;
      await m.up(c);
      await c.redis.set(c.keys.schema, String(m.version));
    }
  } finally {
    if ((await c.redis.get(c.keys.schemaLock)) === owner) await c.redis.del(c.keys.schemaLock);
  }
  return { from, to: await version() };
}
