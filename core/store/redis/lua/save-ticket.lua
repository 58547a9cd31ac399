-- ARGV: prefix, id, version, mergeKey, status, subcenterId, createdAt, grade, body, the outbox
-- policy's coalescing window (ms) and per-unit cap, then sections, each a count and its items:
-- alert fingerprints (1 value each); outbox messages (8: id, channel, subcenterId, ticketId,
-- event, body, createdAt, coalesce '1'/'0'); timers (-1 leaves them as
-- they are, else 4 each: id, ticketId, kind, dueAt); supervision orders (7: id, ticketId,
-- subcenterId, issuedTo, status, createdAt, body); the departments the ticket concerns (1
-- each); report ids to link to it (1 each). Every check comes before the first write: a
-- script that stops half-way is not rolled back.
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
local coalesceMs, maxPending = tonumber(ARGV[10]), tonumber(ARGV[11])
local i = 12
local fpsKey = P .. 'tfps:' .. id
for _, fp in ipairs(redis.call('SMEMBERS', fpsKey)) do redis.call('ZREM', P .. 'tfp:' .. fp, id) end
redis.call('DEL', fpsKey)
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if open then
    redis.call('ZADD', P .. 'tfp:' .. ARGV[i], ca, id)
    redis.call('SADD', fpsKey, ARGV[i])
  end
  -- The newest ticket (by creation) that listed the fingerprint, open or closed.
  local lkey = P .. 'tfpl:' .. ARGV[i]
  local lca = redis.call('HGET', lkey, 'ca')
  if (not lca) or tonumber(lca) <= tonumber(ca) then redis.call('HSET', lkey, 'id', id, 'ca', ca) end
  i = i + 1
end
-- Outbox messages, under the policy (see OutboxPolicy): a coalescing message replaces the
-- latest message of its ticket to its unit while that one waits untried, and is otherwise due a
-- window after it; beyond the unit's cap the oldest pending message is given up.
local function unitDueChanged(sc)
  local first = redis.call('ZRANGE', P .. 'obdue:u:' .. sc, 0, 0, 'WITHSCORES')
  if #first == 0 then redis.call('ZREM', P .. 'obrcv', sc) else redis.call('ZADD', P .. 'obrcv', first[2], sc) end
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local mid, ch, sc, tid, ev, body, mca, co = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6]), ARGV[i + 7]
  local mkey = P .. 'ob:' .. mid
  if redis.call('EXISTS', mkey) == 0 then
    local pairKey = P .. 'obl:' .. tid .. '|' .. sc
    local prev = redis.call('GET', pairKey)
    local due, replaced = mca, false
    if prev then
      local h = redis.call('HMGET', P .. 'ob:' .. prev, 'state', 'attempts', 'lu', 'co', 'next', 'ca')
      if h[1] == 'pending' and h[2] == '0' and h[4] == '1' and ((not h[3]) or tonumber(h[3]) <= mca) then
        due = tonumber(h[5])
        if co ~= '1' and mca < due then due = mca end
        redis.call('RENAME', P .. 'ob:' .. prev, mkey)
        redis.call('HSET', mkey, 'event', ev, 'body', body, 'co', co, 'next', due)
        redis.call('HDEL', mkey, 'lo', 'lu')
        for _, z in ipairs({ P .. 'obdue', P .. 'obdue:u:' .. sc, P .. 'obt:' .. tid }) do redis.call('ZREM', z, prev) end
        redis.call('ZADD', P .. 'obt:' .. tid, h[6], mid)
        replaced = true
      elseif co == '1' and h[5] then
        due = math.max(mca, tonumber(h[5]) + coalesceMs)
      end
    end
    if not replaced then
      redis.call('HSET', mkey, 'channel', ch, 'sc', sc, 'tid', tid, 'event', ev, 'body', body, 'ca', mca, 'attempts', '0', 'next', due, 'state', 'pending', 'co', co)
      redis.call('ZADD', P .. 'obt:' .. tid, mca, mid)
    end
    redis.call('ZADD', P .. 'obdue', due, mid)
    redis.call('ZADD', P .. 'obdue:u:' .. sc, due, mid)
    if (not replaced) and redis.call('ZCARD', P .. 'obdue:u:' .. sc) > maxPending then
      local oldest = redis.call('ZRANGE', P .. 'obdue:u:' .. sc, 0, 0)[1]
      redis.call('HSET', P .. 'ob:' .. oldest, 'state', 'failed', 'err', 'dropped: more than ' .. maxPending .. ' messages were waiting for this unit')
      redis.call('HDEL', P .. 'ob:' .. oldest, 'lo', 'lu')
      redis.call('ZREM', P .. 'obdue', oldest)
      redis.call('ZREM', P .. 'obdue:u:' .. sc, oldest)
      -- Given up: settled at its planned attempt, for the retention job to prune in time.
      redis.call('ZADD', P .. 'obdone', redis.call('HGET', P .. 'ob:' .. oldest, 'next') or 0, oldest)
    end
    redis.call('SET', pairKey, mid)
    unitDueChanged(sc)
  end
  i = i + 8
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
-- The departments that see the ticket: its lead and its co-handlers not released.
local dpsKey = P .. 'tdps:' .. id
for _, d in ipairs(redis.call('SMEMBERS', dpsKey)) do redis.call('ZREM', P .. 'tidx:dp:' .. d, id) end
redis.call('DEL', dpsKey)
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('ZADD', P .. 'tidx:dp:' .. ARGV[i], ca, id)
  redis.call('SADD', dpsKey, ARGV[i])
  i = i + 1
end
-- A report joins one ticket: the first link stands.
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local rkey = P .. 'rp:' .. ARGV[i]
  if redis.call('EXISTS', rkey) == 1 then redis.call('HSETNX', rkey, 'tid', id) end
  i = i + 1
end
return 'OK'
