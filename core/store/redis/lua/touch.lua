for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local seen = redis.call('HGET', key, 'lastSeen')
    if (not seen) or tonumber(seen) < tonumber(ARGV[1]) then redis.call('HSET', key, 'lastSeen', ARGV[1]) end
  end
end
return 1
