-- ARGV[2]: the key prefix of the gateways' device sets.
local gateway = redis.call('HGET', KEYS[1], 'gateway')
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if gateway then redis.call('SREM', ARGV[2] .. gateway, ARGV[1]) end
return n
