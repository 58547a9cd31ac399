-- lastSeen only moves forward: max(lastSeen, at), as the embedded store.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
local seen = redis.call('HGET', KEYS[1], 'lastSeen')
if (not seen) or tonumber(seen) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'lastSeen', ARGV[2]) end
return 1
