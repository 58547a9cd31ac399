-- KEYS: item, due set. ARGV: id, attempts, next ('' = give up), error.
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
return 1
