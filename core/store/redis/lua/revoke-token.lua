if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'ra') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'ra', ARGV[1])
return 1
