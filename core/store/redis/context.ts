import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import type { ScriptName } from './scripts.js';

/** Keys per MGET / pipeline round trip. */
export const CHUNK = 1_000;
/** Tickets a list returns when the filter sets no limit (as the embedded store). */
export const DEFAULT_LIST_LIMIT = 1_000;

export type Script = (...args: (string | number)[]) => Promise<unknown>;

/** What every sub-store of one RedisStateStore shares: its connection, its keys and its scripts. */
export interface Ctx {
  redis: Redis;
  keys: Keys;
  script(name: ScriptName): Script;
  /** Runs a Redis operation, turning client failures into coded errors. */
  run<T>(op: () => Promise<T>): Promise<T>;
}

export function parseJson<T>(body: string | null | undefined): T | undefined {
  return body ? (JSON.parse(body) as T) : undefined;
}
