-- KEYS: token, hash lookup, all tokens, the unit's tokens. ARGV: id, hash, then the fields.
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1])
local ca = redis.call('HGET', KEYS[1], 'ca')
redis.call('ZADD', KEYS[3], ca, ARGV[1])
redis.call('ZADD', KEYS[4], ca, ARGV[1])
return 1
