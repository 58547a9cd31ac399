/**
 * Whether any operator is connected, to any node: the operators' feeds publish nothing while
 * none is. Each node keeps its own count in one Redis hash field with an expiry written beside
 * it (by its own clock: nodes' clocks are assumed to agree within the expiry), refreshed while it
 * lives; a node that dies stops counting once its entry expires.
 */
import type { Logger } from '../../core/logger.js';

/** How often a node writes its count and reads the others'. */
export const OPERATOR_COUNT_REFRESH_MS = 1_000;
/** How long a node's count holds without a refresh. */
const OPERATOR_COUNT_TTL_MS = 10_000;
const KEY = 'operators';

export interface OperatorCount {
  connected(): void;
  disconnected(): void;
  /** Whether an operator is connected anywhere (as of the last refresh, or here now). */
  any(): boolean;
  close(): Promise<void>;
}

/** The count of one process. */
export function localOperatorCount(): OperatorCount {
  let n = 0;
  return {
    connected: () => void n++,
    disconnected: () => void (n = Math.max(0, n - 1)),
    any: () => n > 0,
    close: async () => undefined,
  };
}

export interface OperatorCountRedis {
  hset(key: string, field: string, value: string): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, field: string): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
}

/** The count across the nodes of a cluster. */
export function clusterOperatorCount(redis: OperatorCountRedis, nodeId: string, logger: Logger): OperatorCount {
  let here = 0;
  let elsewhere = 0;
  const refresh = async (): Promise<void> => {
    const now = Date.now();
    await redis.hset(KEY, nodeId, `${here} ${now + OPERATOR_COUNT_TTL_MS}`);
    // The hash outlives its last node by one expiry at most.
    await redis.pexpire(KEY, OPERATOR_COUNT_TTL_MS);
    let sum = 0;
    for (const [node, entry] of Object.entries(await redis.hgetall(KEY))) {
      const [count, until] = entry.split(' ').map(Number);
      if (node === nodeId) continue;
      if (until! < now) void redis.hdel(KEY, node);
      else sum += count!;
    }
    elsewhere = sum;
  };
  const tick = (): void => void refresh().catch((err: unknown) => logger.warn({ err }, 'could not share the count of connected operators'));
  const timer = setInterval(tick, OPERATOR_COUNT_REFRESH_MS);
  timer.unref();
  tick();
  return {
    connected: () => {
      here++;
      tick();
    },
    disconnected: () => {
      here = Math.max(0, here - 1);
      tick();
    },
    any: () => here > 0 || elsewhere > 0,
    async close() {
      clearInterval(timer);
      await redis.hdel(KEY, nodeId).catch(() => undefined);
    },
  };
}
