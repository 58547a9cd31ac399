-- ARGV: prefix, id, attempts, next ('' = give up), error.
local P, id = ARGV[1], ARGV[2]
local key = P .. 'ob:' .. id
if redis.call('EXISTS', key) == 0 then return 0 end
local sc = redis.call('HGET', key, 'sc')
redis.call('HSET', key, 'attempts', ARGV[3], 'err', ARGV[5])
redis.call('HDEL', key, 'lo', 'lu')
if ARGV[4] == '' then
  redis.call('HSET', key, 'state', 'failed')
  redis.call('ZREM', P .. 'obdue', id)
  redis.call('ZREM', P .. 'obdue:u:' .. sc, id)
  -- Settled, at its last planned attempt (as in SQLite): the retention job prunes it in time.
  redis.call('ZADD', P .. 'obdone', redis.call('HGET', key, 'next') or 0, id)
else
  redis.call('HSET', key, 'state', 'pending', 'next', ARGV[4])
  redis.call('ZADD', P .. 'obdue', ARGV[4], id)
  redis.call('ZADD', P .. 'obdue:u:' .. sc, ARGV[4], id)
end
local first = redis.call('ZRANGE', P .. 'obdue:u:' .. sc, 0, 0, 'WITHSCORES')
if #first == 0 then redis.call('ZREM', P .. 'obrcv', sc) else redis.call('ZADD', P .. 'obrcv', first[2], sc) end
return 1
