/**
 * The distributed state store on Redis (ioredis): devices, tickets, the delivery outbox and
 * rule state, shared by every StreetWatch process. Writes that must be atomic (a ticket with
 * its merge-key guard, indexes and outbox messages; a device added only if its id is free; a
 * rule state changed only if it still is what the instance read) are Lua scripts, which Redis
 * runs one at a time: two instances racing to open a ticket for the same merge key, or to move
 * a rule's state, cannot both win, exactly like the embedded store's transactions.
 *
 * Targets one Redis primary (with Sentinel or a managed service for failover). Scripts derive
 * the keys they touch from the ticket, so the layout is not meant for Redis Cluster.
 * Redis should run with AOF (`appendonly yes`), as infra/ does: RDB snapshots alone could lose
 * minutes of acknowledged tickets.
 *
 * Timers and outbox messages are claimed with leases in scripts too: a claim reads and leases
 * in one step, so two instances never hold the same timer or message at once.
 *
 * One file per port beside this one; the key layout is in keys.ts, the Lua scripts in lua/.
 */
import { Redis, ReplyError } from 'ioredis';
import { errorMessage, redactUrl, unavailable } from '../../connect-retry.js';
import { StreetWatchError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ApiTokenStore, DeviceErrorLog, DeviceRegistry, IngestTokenStore, KeyValueStore, Outbox, OutboxPolicy, ReportStore, StateStore, SupervisionStore, TicketStore, TimerStore } from '../../ports.js';
import { DEFAULT_OUTBOX_POLICY } from '../../config.js';
import { Signal } from '../../signal.js';
import type { Ctx, Script } from './context.js';
import { RedisDeviceErrors } from './device-errors.js';
import { RedisDevices } from './devices.js';
import { RedisIngestTokens } from './ingest-tokens.js';
import { Keys } from './keys.js';
import { RedisKv } from './kv.js';
import { RedisOutbox } from './outbox.js';
import { RedisReports } from './reports.js';
import { migrateRedis } from './migrations.js';
import { LUA } from './scripts.js';
import { RedisSupervision } from './supervision.js';
import { RedisTickets } from './tickets.js';
import { RedisTimers } from './timers.js';
import { RedisTokens } from './tokens.js';

/** How many times a command is resent across reconnections before it fails (and the caller retries). */
export const DEFAULT_REDIS_MAX_RETRIES_PER_REQUEST = 2;
/** First and longest wait between reconnection attempts once connected. */
export const DEFAULT_REDIS_RECONNECT_MS = { min: 200, max: 5_000 } as const;

export interface RedisStateOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  /** Prefix of every key (before `sw:`). Default ''. */
  namespace?: string;
  logger: Logger;
  /** Default DEFAULT_REDIS_MAX_RETRIES_PER_REQUEST. */
  maxRetriesPerRequest?: number;
  /** How long a connection attempt may take. Default 5 s. */
  connectTimeoutMs?: number;
  /** Coalescing and per-unit backlog of the webhook outbox. Default DEFAULT_OUTBOX_POLICY. */
  outbox?: OutboxPolicy;
}

export class RedisStateStore implements StateStore {
  readonly devices: DeviceRegistry;
  readonly tickets: TicketStore;
  readonly outbox: Outbox;
  readonly timers: TimerStore;
  readonly supervision: SupervisionStore;
  readonly tokens: ApiTokenStore;
  readonly ingestTokens: IngestTokenStore;
  readonly kv: KeyValueStore;
  readonly deviceErrors: DeviceErrorLog;
  private readonly ctx: Ctx;
  private outboxIndexed = false;
  readonly reports: ReportStore;
  /** The URL without credentials, for logs and errors. */
  readonly target: string;
  private readonly redis: Redis;
  private readonly log: Logger;
  private everConnected = false;
  private closed = false;

  constructor(opts: RedisStateOptions) {
    this.target = redactUrl(opts.url);
    this.log = opts.logger.child({ component: 'redis' });
    this.redis = new Redis(opts.url, {
      lazyConnect: true,
      connectionName: 'streetwatch',
      connectTimeout: opts.connectTimeoutMs ?? 5_000,
      maxRetriesPerRequest: opts.maxRetriesPerRequest ?? DEFAULT_REDIS_MAX_RETRIES_PER_REQUEST,
      // Before the first connection, connectWithRetry owns retrying (and logging); after it,
      // ioredis reconnects on its own and commands wait briefly in its offline queue.
      retryStrategy: (times) => (this.everConnected && !this.closed ? Math.min(DEFAULT_REDIS_RECONNECT_MS.min * 2 ** (times - 1), DEFAULT_REDIS_RECONNECT_MS.max) : null),
    });
    this.redis.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis connection error'));
    this.redis.on('reconnecting', (ms: number) => this.log.warn({ target: this.target, retryInMs: ms }, `Redis at ${this.target} is unreachable; reconnecting in ${ms} ms`));
    this.redis.on('ready', () => {
      if (this.everConnected) this.log.info({ target: this.target }, `reconnected to Redis at ${this.target}`);
      // Also when a command's auto-connect got there before connect(): reconnect from now on.
      this.everConnected = true;
    });
    for (const [name, lua] of Object.entries(LUA)) this.redis.defineCommand(`sw_${name}`, { lua });
    const keys = new Keys(`${opts.namespace ?? ''}sw:`);
    const ctx: Ctx = (this.ctx = {
      redis: this.redis,
      keys,
      script: (name) => {
        const fn = (this.redis as unknown as Record<string, Script>)[`sw_${name}`]!;
        return (...args) => fn.apply(this.redis, args);
      },
      run: (op) => op().catch((err: unknown) => Promise.reject(this.failure(err))),
    });
    this.devices = new RedisDevices(ctx);
    const written = new Signal();
    this.tickets = new RedisTickets(ctx, opts.outbox ?? DEFAULT_OUTBOX_POLICY, written);
    this.outbox = new RedisOutbox(ctx, written);
    this.timers = new RedisTimers(ctx);
    this.supervision = new RedisSupervision(ctx);
    this.tokens = new RedisTokens(ctx);
    this.ingestTokens = new RedisIngestTokens(ctx);
    this.kv = new RedisKv(ctx);
    this.deviceErrors = new RedisDeviceErrors(ctx);
    this.reports = new RedisReports(ctx);
  }

  async connect(): Promise<void> {
    if (this.closed) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['state store', 'closed']);
    if (this.redis.status !== 'ready') {
      try {
        await this.redis.connect();
      } catch (err) {
        throw unavailable(`Redis at ${this.target}`, err);
      }
    }
    if (!this.outboxIndexed) {
      // Messages pending from before the outbox kept a queue per unit join their unit's queue.
      await this.ctx.run(() => this.ctx.script('indexOutboxUnits')(0, this.ctx.keys.prefix));
      this.outboxIndexed = true;
    }
    const { from, to } = await this.ctx.run(() => migrateRedis(this.ctx, `Redis namespace "${this.ctx.keys.prefix}" at ${this.target}`));
    if (from !== to) this.log.info({ from, to }, `Redis keys migrated from schema version ${from} to ${to}`);
  }

  isConnected(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  private failure(err: unknown): StreetWatchError {
    if (err instanceof StreetWatchError) return err;
    // A reply error is Redis refusing a command (a script bug, a wrong key type), not an outage.
    if (err instanceof ReplyError) return new StreetWatchError('SW_ERR_INTERNAL', [`Redis refused a command: ${errorMessage(err)}`], { cause: err });
    return unavailable(`Redis at ${this.target}`, err);
  }
}
