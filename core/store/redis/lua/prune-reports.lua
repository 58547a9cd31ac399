-- ARGV: prefix, now, limit. Deletes up to `limit` reports, then photos, whose expiry is at or
-- before `now`, with their index entries; returns how many.
local P, now, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = 0
for _, id in ipairs(redis.call('ZRANGE', P .. 'rpexp', '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)) do
  local key = P .. 'rp:' .. id
  local by = redis.call('HGET', key, 'by')
  redis.call('DEL', key)
  redis.call('ZREM', P .. 'rpidx', id)
  if by then redis.call('ZREM', P .. 'rpidx:by:' .. by, id) end
  redis.call('ZREM', P .. 'rpexp', id)
  n = n + 1
end
if n < limit then
  for _, id in ipairs(redis.call('ZRANGE', P .. 'phexp', '-inf', now, 'BYSCORE', 'LIMIT', 0, limit - n)) do
    redis.call('DEL', P .. 'ph:' .. id)
    redis.call('ZREM', P .. 'phexp', id)
    n = n + 1
  end
end
return n
