-- KEYS: the alert's index. ARGV: ticket key prefix. The newest open ticket holding it.
local ids = redis.call('ZRANGE', KEYS[1], 0, 0, 'REV')
if #ids == 0 then return false end
return redis.call('HGET', ARGV[1] .. ids[1], 'body')
