-- KEYS: item, due set. ARGV: id, at.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'state', 'delivered', 'next', ARGV[2])
redis.call('HDEL', KEYS[1], 'err', 'lo', 'lu')
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
