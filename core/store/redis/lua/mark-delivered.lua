-- ARGV: prefix, id, at. Leaves the due sets (global, the unit's) and the units' index, and joins
-- the settled messages (obdone, by when they settled) the retention job prunes.
local P, id = ARGV[1], ARGV[2]
local key = P .. 'ob:' .. id
if redis.call('EXISTS', key) == 0 then return 0 end
local sc = redis.call('HGET', key, 'sc')
redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'state', 'delivered', 'next', ARGV[3])
redis.call('HDEL', key, 'err', 'lo', 'lu')
redis.call('ZREM', P .. 'obdue', id)
redis.call('ZREM', P .. 'obdue:u:' .. sc, id)
redis.call('ZADD', P .. 'obdone', ARGV[3], id)
local first = redis.call('ZRANGE', P .. 'obdue:u:' .. sc, 0, 0, 'WITHSCORES')
if #first == 0 then redis.call('ZREM', P .. 'obrcv', sc) else redis.call('ZADD', P .. 'obrcv', first[2], sc) end
return 1
