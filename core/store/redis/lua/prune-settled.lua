-- ARGV: prefix, before, limit. Deletes settled messages (obdone) older than `before`, with their
-- place in their ticket's list and the ticket's coalescing pointer if it names them.
local P = ARGV[1]
local ids = redis.call('ZRANGE', P .. 'obdone', '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local item = P .. 'ob:' .. id
  local h = redis.call('HMGET', item, 'tid', 'sc')
  if h[1] then
    redis.call('ZREM', P .. 'obt:' .. h[1], id)
    local pair = P .. 'obl:' .. h[1] .. '|' .. (h[2] or '')
    if redis.call('GET', pair) == id then redis.call('DEL', pair) end
  end
  redis.call('DEL', item)
  redis.call('ZREM', P .. 'obdone', id)
end
return #ids
