-- KEYS: the timer, the due set. ARGV: timer id, owner, ticket timers key prefix.
if redis.call('HGET', KEYS[1], 'lo') ~= ARGV[2] then return 0 end
local tid = redis.call('HGET', KEYS[1], 'tid')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', ARGV[3] .. tid, ARGV[1])
return 1
