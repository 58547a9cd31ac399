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
 * Keys, all under `${namespace}sw:`:
 *   dev:{id}                      hash   a device
 *   devs                          zset   device ids (score 0: ordered by id)
 *   t:{id}                        hash   a ticket: v (version), mk, st, sc, gr, ca, body (JSON)
 *   topen:{mergeKey}              string the id of the open ticket holding the merge key
 *   tidx, tidx:st:{status}, tidx:sc:{sc}, tidx:sc:{sc}:st:{status}
 *                                 zset   ticket ids by createdAt, for listing
 *   tfp:{fingerprint}             zset   open tickets holding an alert, by createdAt
 *   tfps:{ticketId}               set    the fingerprints a ticket is indexed under
 *   tm:{timerId}                  hash   a ticket timer: tid, kind, due, lo/lu (lease owner/until)
 *   tmdue                         zset   timer ids by due time
 *   tmt:{ticketId}                zset   a ticket's timer ids by due time
 *   so:{id}                       hash   a supervision order: tid, sc, to, st, ca, body (JSON)
 *   soidx, soidx:u:{unit}, soidx:t:{ticketId}
 *                                 zset   supervision order ids by createdAt
 *   ob:{id}                       hash   an outbox message, its delivery state and lease (lo/lu)
 *   obdue                         zset   pending outbox ids by next attempt time
 *   obt:{ticketId}                zset   a ticket's outbox ids by createdAt
 *   tok:{id}, tokh:{hash}         hash, string   an API token, and its id by hash
 *   toks, toks:u:{unit}           zset   token ids by createdAt
 *   kv:{key}                      string rule state and dedup keys (JSON)
 */
import { Redis, ReplyError } from 'ioredis';
import { errorMessage, redactUrl, unavailable } from '../connect-retry.js';
import { StreetWatchError } from '../errors.js';
import type { Logger } from '../logger.js';
import type {
  ApiTokenRecord,
  ApiTokenStore,
  DeviceRegistry,
  KeyValueStore,
  Outbox,
  OutboxItem,
  OutboxMessage,
  StateStore,
  SupervisionFilter,
  SupervisionStore,
  TicketFilter,
  TicketSaveEffects,
  TicketStore,
  TimerStore,
} from '../ports.js';
import type { DeviceRecord, SupervisionOrder, Ticket, TicketTimer, TimerKind } from '../schemas.js';

/** How many times a command is resent across reconnections before it fails (and the caller retries). */
export const DEFAULT_REDIS_MAX_RETRIES_PER_REQUEST = 2;
/** First and longest wait between reconnection attempts once connected. */
export const DEFAULT_REDIS_RECONNECT_MS = { min: 200, max: 5_000 } as const;
/** Keys per MGET / pipeline round trip. */
const CHUNK = 1_000;
/** Tickets a list returns when the filter sets no limit (as the embedded store). */
const DEFAULT_LIST_LIMIT = 1_000;

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
}

const LUA = {
  addDevice: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1`,
  setIfExists: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`,
  // lastSeen only moves forward: max(lastSeen, at), as the embedded store.
  setStatus: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
local seen = redis.call('HGET', KEYS[1], 'lastSeen')
if (not seen) or tonumber(seen) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'lastSeen', ARGV[2]) end
return 1`,
  touch: `
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local seen = redis.call('HGET', key, 'lastSeen')
    if (not seen) or tonumber(seen) < tonumber(ARGV[1]) then redis.call('HSET', key, 'lastSeen', ARGV[1]) end
  end
end
return 1`,
  removeDevice: `
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n`,
  // ARGV: prefix, id, version, mergeKey, status, subcenterId, createdAt, grade, body, then
  // sections, each a count and its items: alert fingerprints (1 value each); outbox messages
  // (7: id, channel, subcenterId, ticketId, event, body, createdAt); timers (-1 leaves them as
  // they are, else 4 each: id, ticketId, kind, dueAt); supervision orders (7: id, ticketId,
  // subcenterId, issuedTo, status, createdAt, body). Every check comes before the first write:
  // a script that stops half-way is not rolled back.
  saveTicket: `
local P = ARGV[1]
local id, version, mk, st, sc, ca, gr = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local tkey = P .. 't:' .. id
local cur = redis.call('HMGET', tkey, 'v', 'mk', 'st', 'sc')
if version == 1 then
  if cur[1] then return 'CONFLICT' end
elseif (not cur[1]) or tonumber(cur[1]) ~= version - 1 then
  return 'CONFLICT'
end
local open = st ~= 'closed'
local okey = P .. 'topen:' .. mk
if open then
  local holder = redis.call('GET', okey)
  if holder and holder ~= id then return 'CONFLICT' end
end
if cur[2] and (cur[2] ~= mk or not open) then
  local old = P .. 'topen:' .. cur[2]
  if redis.call('GET', old) == id then redis.call('DEL', old) end
end
if open then redis.call('SET', okey, id) end
redis.call('HSET', tkey, 'v', ARGV[3], 'mk', mk, 'st', st, 'sc', sc, 'gr', gr, 'ca', ca, 'body', ARGV[9])
if cur[3] then
  redis.call('ZREM', P .. 'tidx:st:' .. cur[3], id)
  redis.call('ZREM', P .. 'tidx:sc:' .. cur[4], id)
  redis.call('ZREM', P .. 'tidx:sc:' .. cur[4] .. ':st:' .. cur[3], id)
end
redis.call('ZADD', P .. 'tidx', ca, id)
redis.call('ZADD', P .. 'tidx:st:' .. st, ca, id)
redis.call('ZADD', P .. 'tidx:sc:' .. sc, ca, id)
redis.call('ZADD', P .. 'tidx:sc:' .. sc .. ':st:' .. st, ca, id)
local i = 10
local fpsKey = P .. 'tfps:' .. id
for _, fp in ipairs(redis.call('SMEMBERS', fpsKey)) do redis.call('ZREM', P .. 'tfp:' .. fp, id) end
redis.call('DEL', fpsKey)
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if open then
    redis.call('ZADD', P .. 'tfp:' .. ARGV[i], ca, id)
    redis.call('SADD', fpsKey, ARGV[i])
  end
  i = i + 1
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local mkey = P .. 'ob:' .. ARGV[i]
  if redis.call('EXISTS', mkey) == 0 then
    redis.call('HSET', mkey, 'channel', ARGV[i + 1], 'sc', ARGV[i + 2], 'tid', ARGV[i + 3], 'event', ARGV[i + 4],
      'body', ARGV[i + 5], 'ca', ARGV[i + 6], 'attempts', '0', 'next', ARGV[i + 6], 'state', 'pending')
    redis.call('ZADD', P .. 'obdue', ARGV[i + 6], ARGV[i])
    redis.call('ZADD', P .. 'obt:' .. ARGV[i + 3], ARGV[i + 6], ARGV[i])
  end
  i = i + 7
end
n = tonumber(ARGV[i]); i = i + 1
if n >= 0 then
  local mine = P .. 'tmt:' .. id
  local keep = {}
  for _ = 1, n do
    local tmid, tmtid, kind, due = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    keep[tmid] = true
    local tmkey = P .. 'tm:' .. tmid
    local prev = redis.call('HMGET', tmkey, 'due', 'kind')
    -- Same timer, same due time: kept, and whoever holds its claim keeps it.
    if prev[1] ~= due or prev[2] ~= kind then
      redis.call('DEL', tmkey)
      redis.call('HSET', tmkey, 'tid', tmtid, 'kind', kind, 'due', due)
      redis.call('ZADD', P .. 'tmdue', due, tmid)
      redis.call('ZADD', P .. 'tmt:' .. tmtid, due, tmid)
    end
    i = i + 4
  end
  for _, old in ipairs(redis.call('ZRANGE', mine, 0, -1)) do
    if not keep[old] then
      redis.call('DEL', P .. 'tm:' .. old)
      redis.call('ZREM', P .. 'tmdue', old)
      redis.call('ZREM', mine, old)
    end
  end
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local skey = P .. 'so:' .. ARGV[i]
  if redis.call('EXISTS', skey) == 0 then
    redis.call('HSET', skey, 'tid', ARGV[i + 1], 'sc', ARGV[i + 2], 'to', ARGV[i + 3], 'st', ARGV[i + 4], 'ca', ARGV[i + 5], 'body', ARGV[i + 6])
    redis.call('ZADD', P .. 'soidx', ARGV[i + 5], ARGV[i])
    redis.call('ZADD', P .. 'soidx:u:' .. ARGV[i + 2], ARGV[i + 5], ARGV[i])
    redis.call('ZADD', P .. 'soidx:u:' .. ARGV[i + 3], ARGV[i + 5], ARGV[i])
    redis.call('ZADD', P .. 'soidx:t:' .. ARGV[i + 1], ARGV[i + 5], ARGV[i])
  else
    redis.call('HSET', skey, 'st', ARGV[i + 4], 'body', ARGV[i + 6])
  end
  i = i + 7
end
return 'OK'`,
  // KEYS: the alert's index. ARGV: ticket key prefix. The newest open ticket holding it.
  findOpenByAlert: `
local ids = redis.call('ZRANGE', KEYS[1], 0, 0, 'REV')
if #ids == 0 then return false end
return redis.call('HGET', ARGV[1] .. ids[1], 'body')`,
  // KEYS: the index to walk. ARGV: ticket key prefix, max score, min score, limit, then the
  // allowed statuses and grades, each a count and its values (count 0: any). Newest first,
  // plus every ticket tied with the last one kept (the caller sorts ties by id and cuts).
  listTickets: `
local P, limit = ARGV[1], tonumber(ARGV[4])
local i = 5
local function set()
  local n = tonumber(ARGV[i]); i = i + 1
  if n == 0 then return nil end
  local s = {}
  for _ = 1, n do s[ARGV[i]] = true; i = i + 1 end
  return s
end
local statuses, grades = set(), set()
local out, offset, boundary = {}, 0, nil
while true do
  local page = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYSCORE', 'REV', 'LIMIT', offset, 200, 'WITHSCORES')
  if #page == 0 then return out end
  offset = offset + #page / 2
  for k = 1, #page, 2 do
    local score = tonumber(page[k + 1])
    if boundary and score < boundary then return out end
    local f = redis.call('HMGET', P .. page[k], 'st', 'gr')
    if f[1] and (not statuses or statuses[f[1]]) and (not grades or grades[f[2]]) then
      out[#out + 1] = page[k]
      if #out == limit then boundary = score end
    end
  end
end`,
  findOpen: `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('HGET', ARGV[1] .. id, 'body')`,
  // KEYS: item, due set. ARGV: id, at.
  markDelivered: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'state', 'delivered', 'next', ARGV[2])
redis.call('HDEL', KEYS[1], 'err', 'lo', 'lu')
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`,
  // KEYS: item, due set. ARGV: id, attempts, next ('' = give up), error.
  markFailed: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'attempts', ARGV[2], 'err', ARGV[4])
redis.call('HDEL', KEYS[1], 'lo', 'lu')
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'state', 'failed')
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[1], 'state', 'pending', 'next', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1`,
  // KEYS: the due set. ARGV: item key prefix, now, limit, owner, lease end. Oldest due first;
  // an item whose lease has not ended is someone else's and is skipped.
  claim: `
local out, offset, limit = {}, 0, tonumber(ARGV[3])
while #out < limit do
  local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', offset, 200)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, id in ipairs(ids) do
    local key = ARGV[1] .. id
    local lu = redis.call('HGET', key, 'lu')
    if (not lu) or tonumber(lu) <= tonumber(ARGV[2]) then
      redis.call('HSET', key, 'lo', ARGV[4], 'lu', ARGV[5])
      out[#out + 1] = id
      if #out >= limit then break end
    end
  end
end
return out`,
  // KEYS: the timer, the due set. ARGV: timer id, owner, ticket timers key prefix.
  completeTimer: `
if redis.call('HGET', KEYS[1], 'lo') ~= ARGV[2] then return 0 end
local tid = redis.call('HGET', KEYS[1], 'tid')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', ARGV[3] .. tid, ARGV[1])
return 1`,
  // KEYS: token, hash lookup, all tokens, the unit's tokens. ARGV: id, hash, then the fields.
  addToken: `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1])
local ca = redis.call('HGET', KEYS[1], 'ca')
redis.call('ZADD', KEYS[3], ca, ARGV[1])
redis.call('ZADD', KEYS[4], ca, ARGV[1])
return 1`,
  // KEYS: the key. ARGV: '1' when a current value is expected, its JSON, '1' when a next value
  // is to be set, its JSON. Values compare as the JSON text they are stored as.
  compareAndSet: `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[4]) else redis.call('DEL', KEYS[1]) end
return 1`,
  revokeToken: `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'ra') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'ra', ARGV[1])
return 1`,
} as const;

type ScriptName = keyof typeof LUA;
type Script = (...args: (string | number)[]) => Promise<unknown>;

/** The keys of one namespace. */
class Keys {
  readonly devices: string;
  readonly outboxDue: string;
  constructor(readonly prefix: string) {
    this.devices = `${prefix}devs`;
    this.outboxDue = `${prefix}obdue`;
    this.timersDue = `${prefix}tmdue`;
  }
  device = (id: string): string => `${this.prefix}dev:${id}`;
  ticket = (id: string): string => `${this.prefix}t:${id}`;
  openTicket = (mergeKey: string): string => `${this.prefix}topen:${mergeKey}`;
  ticketIndex = (subcenterId?: string, status?: string): string =>
    `${this.prefix}tidx${subcenterId === undefined ? '' : `:sc:${subcenterId}`}${status === undefined ? '' : `:st:${status}`}`;
  alertIndex = (fingerprint: string): string => `${this.prefix}tfp:${fingerprint}`;
  timer = (id: string): string => `${this.prefix}tm:${id}`;
  timersOf = (ticketId: string): string => `${this.prefix}tmt:${ticketId}`;
  readonly timersDue: string;
  order = (id: string): string => `${this.prefix}so:${id}`;
  orderIndex = (filter: { unitId?: string; ticketId?: string }): string =>
    filter.ticketId !== undefined ? `${this.prefix}soidx:t:${filter.ticketId}` : filter.unitId !== undefined ? `${this.prefix}soidx:u:${filter.unitId}` : `${this.prefix}soidx`;
  outboxItem = (id: string): string => `${this.prefix}ob:${id}`;
  outboxOf = (ticketId: string): string => `${this.prefix}obt:${ticketId}`;
  token = (id: string): string => `${this.prefix}tok:${id}`;
  tokenByHash = (hash: string): string => `${this.prefix}tokh:${hash}`;
  tokens = (unitId?: string): string => `${this.prefix}toks${unitId === undefined ? '' : `:u:${unitId}`}`;
  kv = (key: string): string => `${this.prefix}kv:${key}`;
}

export class RedisStateStore implements StateStore {
  readonly devices: DeviceRegistry;
  readonly tickets: TicketStore;
  readonly outbox: Outbox;
  readonly timers: TimerStore;
  readonly supervision: SupervisionStore;
  readonly tokens: ApiTokenStore;
  readonly kv: KeyValueStore;
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
    const ctx: Ctx = {
      redis: this.redis,
      keys,
      script: (name) => {
        const fn = (this.redis as unknown as Record<string, Script>)[`sw_${name}`]!;
        return (...args) => fn.apply(this.redis, args);
      },
      run: (op) => op().catch((err: unknown) => Promise.reject(this.failure(err))),
    };
    this.devices = new RedisDevices(ctx);
    this.tickets = new RedisTickets(ctx);
    this.outbox = new RedisOutbox(ctx);
    this.timers = new RedisTimers(ctx);
    this.supervision = new RedisSupervision(ctx);
    this.tokens = new RedisTokens(ctx);
    this.kv = new RedisKv(ctx);
  }

  async connect(): Promise<void> {
    if (this.closed) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['state store', 'closed']);
    if (this.redis.status === 'ready') return;
    try {
      await this.redis.connect();
    } catch (err) {
      throw unavailable(`Redis at ${this.target}`, err);
    }
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

interface Ctx {
  redis: Redis;
  keys: Keys;
  script(name: ScriptName): Script;
  /** Runs a Redis operation, turning client failures into coded errors. */
  run<T>(op: () => Promise<T>): Promise<T>;
}

class RedisDevices implements DeviceRegistry {
  constructor(private readonly c: Ctx) {}

  add(d: DeviceRecord): Promise<void> {
    const { keys } = this.c;
    const fields: (string | number)[] = ['kind', d.kind, 'secretHash', d.secretHash, 'createdAt', d.createdAt, 'status', d.status];
    if (d.location) fields.push('lat', String(d.location.lat), 'lon', String(d.location.lon));
    if (d.lastSeen !== null) fields.push('lastSeen', d.lastSeen);
    return this.c.run(async () => {
      const added = await this.c.script('addDevice')(2, keys.device(d.id), keys.devices, d.id, ...fields);
      if (added === 0) throw new StreetWatchError('SW_ERR_DEVICE_EXISTS', [d.id]);
    });
  }

  get(id: string): Promise<DeviceRecord | undefined> {
    return this.c.run(async () => toDevice(id, await this.c.redis.hgetall(this.c.keys.device(id))));
  }

  list(): Promise<DeviceRecord[]> {
    return this.c.run(async () => {
      const ids = await this.c.redis.zrange(this.c.keys.devices, '0', '-1');
      const out: DeviceRecord[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        const pipe = this.c.redis.pipeline();
        for (const id of chunk) pipe.hgetall(this.c.keys.device(id));
        const replies = (await pipe.exec()) ?? [];
        chunk.forEach((id, j) => {
          const [err, hash] = replies[j] ?? [];
          if (err) throw err;
          const d = toDevice(id, hash as Record<string, string>);
          if (d) out.push(d);
        });
      }
      return out;
    });
  }

  setSecretHash(id: string, secretHash: string): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('setIfExists')(1, this.c.keys.device(id), 'secretHash', secretHash)) === 1);
  }

  setStatus(id: string, status: DeviceRecord['status'], at: number): Promise<void> {
    return this.c.run(async () => void (await this.c.script('setStatus')(1, this.c.keys.device(id), status, at)));
  }

  touch(ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.c.run(async () => {
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        await this.c.script('touch')(chunk.length, ...chunk.map((id) => this.c.keys.device(id)), at);
      }
    });
  }

  remove(id: string): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('removeDevice')(2, this.c.keys.device(id), this.c.keys.devices, id)) === 1);
  }
}

function toDevice(id: string, h: Record<string, string> | null | undefined): DeviceRecord | undefined {
  if (!h || h.kind === undefined) return undefined;
  return {
    id,
    kind: h.kind,
    location: h.lat === undefined || h.lon === undefined ? null : { lat: Number(h.lat), lon: Number(h.lon) },
    secretHash: h.secretHash ?? '',
    createdAt: Number(h.createdAt),
    status: (h.status ?? 'unknown') as DeviceRecord['status'],
    lastSeen: h.lastSeen === undefined ? null : Number(h.lastSeen),
  };
}

class RedisTickets implements TicketStore {
  constructor(private readonly c: Ctx) {}

  get(id: string): Promise<Ticket | undefined> {
    return this.c.run(async () => parseTicket(await this.c.redis.hget(this.c.keys.ticket(id), 'body')));
  }

  findOpen(mergeKey: string): Promise<Ticket | undefined> {
    // One script, so the ticket read is the one that holds the key at that moment.
    return this.c.run(async () => parseTicket((await this.c.script('findOpen')(1, this.c.keys.openTicket(mergeKey), this.c.keys.ticket(''))) as string | null));
  }

  findOpenByAlert(fingerprint: string): Promise<Ticket | undefined> {
    return this.c.run(async () => parseTicket((await this.c.script('findOpenByAlert')(1, this.c.keys.alertIndex(fingerprint), this.c.keys.ticket(''))) as string | null));
  }

  list(filter: TicketFilter = {}): Promise<Ticket[]> {
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    const statuses = filter.status === undefined ? [] : Array.isArray(filter.status) ? filter.status : [filter.status];
    const grades = filter.grade === undefined ? [] : Array.isArray(filter.grade) ? filter.grade : [filter.grade];
    // An empty list allows nothing (as SQL's IN ()).
    if ((Array.isArray(filter.status) && statuses.length === 0) || (Array.isArray(filter.grade) && grades.length === 0) || limit <= 0) return Promise.resolve([]);
    // The narrowest index that holds every match; the script checks the rest of the filter.
    const index = this.c.keys.ticketIndex(filter.subcenterId, statuses.length === 1 ? statuses[0] : undefined);
    const max = filter.createdTo === undefined ? '+inf' : `(${filter.createdTo}`;
    const min = filter.createdFrom === undefined ? '-inf' : String(filter.createdFrom);
    return this.c.run(async () => {
      const ids = (await this.c.script('listTickets')(1, index, this.c.keys.ticket(''), max, min, limit, statuses.length, ...statuses, grades.length, ...grades)) as string[];
      const tickets: Ticket[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const pipe = this.c.redis.pipeline();
        for (const id of ids.slice(i, i + CHUNK)) pipe.hget(this.c.keys.ticket(id), 'body');
        for (const [err, body] of (await pipe.exec()) ?? []) {
          if (err) throw err;
          const t = parseTicket(body as string | null);
          if (t) tickets.push(t);
        }
      }
      // The embedded store's order: newest first, then by id.
      tickets.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return tickets.slice(0, limit);
    });
  }

  save(ticket: Ticket, outbox: readonly OutboxMessage[] = [], effects: TicketSaveEffects = {}): Promise<void> {
    const args: (string | number)[] = [
      this.c.keys.prefix,
      ticket.id,
      ticket.version,
      ticket.mergeKey,
      ticket.status,
      ticket.subcenterId,
      ticket.createdAt,
      ticket.grade,
      JSON.stringify(ticket),
    ];
    const fingerprints = [...new Set(ticket.alerts.map((a) => a.fingerprint))];
    args.push(fingerprints.length, ...fingerprints);
    args.push(outbox.length);
    for (const m of outbox) args.push(m.id, m.channel, m.subcenterId, m.ticketId, m.event, m.body, m.createdAt);
    if (effects.timers === undefined) args.push(-1);
    else {
      args.push(effects.timers.length);
      for (const t of effects.timers) args.push(t.id, t.ticketId, t.kind, t.dueAt);
    }
    const orders = effects.supervisionOrders ?? [];
    args.push(orders.length);
    for (const o of orders) args.push(o.id, o.ticketId, o.subcenterId, o.issuedTo, o.status, o.createdAt, JSON.stringify(o));
    return this.c.run(async () => {
      const result = await this.c.script('saveTicket')(0, ...args);
      if (result === 'CONFLICT') throw new StreetWatchError('SW_ERR_TICKET_CONFLICT', [ticket.id]);
    });
  }
}

function parseTicket(body: string | null | undefined): Ticket | undefined {
  return body ? (JSON.parse(body) as Ticket) : undefined;
}

class RedisOutbox implements Outbox {
  constructor(private readonly c: Ctx) {}

  due(now: number, limit: number): Promise<OutboxItem[]> {
    return this.c.run(async () => {
      const ids = await this.c.redis.zrange(this.c.keys.outboxDue, '-inf', String(now), 'BYSCORE', 'LIMIT', '0', String(limit));
      const items = await this.read(ids);
      return items.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt);
    });
  }

  claim(now: number, limit: number, owner: string, leaseMs: number): Promise<OutboxItem[]> {
    return this.c.run(async () => {
      const ids = (await this.c.script('claim')(1, this.c.keys.outboxDue, this.c.keys.outboxItem(''), now, limit, owner, now + leaseMs)) as string[];
      const items = await this.read(ids);
      return items.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt);
    });
  }

  forTicket(ticketId: string): Promise<OutboxItem[]> {
    return this.c.run(async () => this.read(await this.c.redis.zrange(this.c.keys.outboxOf(ticketId), '0', '-1')));
  }

  markDelivered(id: string, at: number): Promise<void> {
    return this.c.run(async () => void (await this.c.script('markDelivered')(2, this.c.keys.outboxItem(id), this.c.keys.outboxDue, id, at)));
  }

  markFailed(id: string, attempts: number, nextAttemptAt: number | null, error: string): Promise<void> {
    return this.c.run(
      async () =>
        void (await this.c.script('markFailed')(2, this.c.keys.outboxItem(id), this.c.keys.outboxDue, id, attempts, nextAttemptAt ?? '', error.slice(0, 500))),
    );
  }

  get(id: string): Promise<OutboxItem | undefined> {
    return this.c.run(async () => (await this.read([id]))[0]);
  }

  private async read(ids: readonly string[]): Promise<OutboxItem[]> {
    if (ids.length === 0) return [];
    const pipe = this.c.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.c.keys.outboxItem(id));
    const replies = (await pipe.exec()) ?? [];
    const out: OutboxItem[] = [];
    ids.forEach((id, i) => {
      const [err, h] = replies[i] ?? [];
      if (err) throw err;
      const item = toOutboxItem(id, h as Record<string, string>);
      if (item) out.push(item);
    });
    return out;
  }
}

function toOutboxItem(id: string, h: Record<string, string> | null | undefined): OutboxItem | undefined {
  if (!h || h.state === undefined) return undefined;
  return {
    id,
    channel: h.channel as OutboxItem['channel'],
    subcenterId: h.sc!,
    ticketId: h.tid!,
    event: h.event!,
    body: h.body!,
    createdAt: Number(h.ca),
    attempts: Number(h.attempts),
    nextAttemptAt: Number(h.next),
    lastError: h.err ?? null,
    state: h.state as OutboxItem['state'],
  };
}

class RedisTimers implements TimerStore {
  constructor(private readonly c: Ctx) {}

  claimDue(now: number, limit: number, owner: string, leaseMs: number): Promise<TicketTimer[]> {
    return this.c.run(async () => {
      const ids = (await this.c.script('claim')(1, this.c.keys.timersDue, this.c.keys.timer(''), now, limit, owner, now + leaseMs)) as string[];
      return this.read(ids);
    });
  }

  complete(id: string, owner: string): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('completeTimer')(2, this.c.keys.timer(id), this.c.keys.timersDue, id, owner, this.c.keys.timersOf(''))) === 1);
  }

  forTicket(ticketId: string): Promise<TicketTimer[]> {
    // By due time, then id: the sorted set's own order.
    return this.c.run(async () => this.read(await this.c.redis.zrange(this.c.keys.timersOf(ticketId), '0', '-1')));
  }

  private async read(ids: readonly string[]): Promise<TicketTimer[]> {
    if (ids.length === 0) return [];
    const pipe = this.c.redis.pipeline();
    for (const id of ids) pipe.hmget(this.c.keys.timer(id), 'tid', 'kind', 'due');
    const replies = (await pipe.exec()) ?? [];
    const out: TicketTimer[] = [];
    ids.forEach((id, i) => {
      const [err, fields] = replies[i] ?? [];
      if (err) throw err;
      const [ticketId, kind, due] = fields as (string | null)[];
      if (ticketId && kind && due) out.push({ id, ticketId, kind: kind as TimerKind, dueAt: Number(due) });
    });
    return out;
  }
}

class RedisSupervision implements SupervisionStore {
  constructor(private readonly c: Ctx) {}

  get(id: string): Promise<SupervisionOrder | undefined> {
    return this.c.run(async () => parseJson<SupervisionOrder>(await this.c.redis.hget(this.c.keys.order(id), 'body')));
  }

  list(filter: SupervisionFilter = {}): Promise<SupervisionOrder[]> {
    return this.c.run(async () => {
      // Orders are few per ticket and unit: the index gives the candidates, the rest is checked here.
      const ids = await this.c.redis.zrange(this.c.keys.orderIndex(filter), '0', '-1');
      const out: SupervisionOrder[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const pipe = this.c.redis.pipeline();
        for (const id of ids.slice(i, i + CHUNK)) pipe.hget(this.c.keys.order(id), 'body');
        for (const [err, body] of (await pipe.exec()) ?? []) {
          if (err) throw err;
          const o = parseJson<SupervisionOrder>(body as string | null);
          if (!o) continue;
          if (filter.unitId !== undefined && o.issuedTo !== filter.unitId && o.subcenterId !== filter.unitId) continue;
          if (filter.ticketId !== undefined && o.ticketId !== filter.ticketId) continue;
          if (filter.status !== undefined && o.status !== filter.status) continue;
          out.push(o);
        }
      }
      out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return out.slice(0, filter.limit ?? DEFAULT_LIST_LIMIT);
    });
  }
}

class RedisTokens implements ApiTokenStore {
  constructor(private readonly c: Ctx) {}

  add(t: ApiTokenRecord): Promise<void> {
    const { keys } = this.c;
    const fields: (string | number)[] = ['unit', t.unitId, 'hash', t.tokenHash, 'label', t.label, 'ca', t.createdAt];
    if (t.revokedAt !== null) fields.push('ra', t.revokedAt);
    return this.c.run(async () => {
      const added = await this.c.script('addToken')(4, keys.token(t.id), keys.tokenByHash(t.tokenHash), keys.tokens(), keys.tokens(t.unitId), t.id, t.tokenHash, ...fields);
      if (added === 0) throw new StreetWatchError('SW_ERR_INTERNAL', [`API token ${t.id} (or its hash) is already stored`]);
    });
  }

  findByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    return this.c.run(async () => {
      const id = await this.c.redis.get(this.c.keys.tokenByHash(tokenHash));
      return id === null ? undefined : (await this.read([id]))[0];
    });
  }

  list(unitId?: string): Promise<ApiTokenRecord[]> {
    // Oldest first, then by id: the sorted set's own order.
    return this.c.run(async () => this.read(await this.c.redis.zrange(this.c.keys.tokens(unitId), '0', '-1')));
  }

  revoke(id: string, at: number): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('revokeToken')(1, this.c.keys.token(id), at)) === 1);
  }

  private async read(ids: readonly string[]): Promise<ApiTokenRecord[]> {
    if (ids.length === 0) return [];
    const pipe = this.c.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.c.keys.token(id));
    const replies = (await pipe.exec()) ?? [];
    const out: ApiTokenRecord[] = [];
    ids.forEach((id, i) => {
      const [err, h] = replies[i] ?? [];
      if (err) throw err;
      const r = h as Record<string, string>;
      if (r?.hash === undefined) return;
      out.push({ id, unitId: r.unit!, tokenHash: r.hash, label: r.label ?? '', createdAt: Number(r.ca), revokedAt: r.ra === undefined ? null : Number(r.ra) });
    });
    return out;
  }
}

function parseJson<T>(body: string | null | undefined): T | undefined {
  return body ? (JSON.parse(body) as T) : undefined;
}

class RedisKv implements KeyValueStore {
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

  compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
    const json = (v: unknown): [string, string] => (v === undefined ? ['0', ''] : ['1', JSON.stringify(v)]);
    return this.c.run(async () => (await this.c.script('compareAndSet')(1, this.c.keys.kv(key), ...json(expected), ...json(next))) === 1);
  }
}
