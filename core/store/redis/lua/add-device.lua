if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
-- A device spoken for by a gateway joins the gateway's set.
if KEYS[3] then redis.call('SADD', KEYS[3], ARGV[1]) end
return 1
