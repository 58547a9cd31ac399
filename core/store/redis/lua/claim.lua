-- KEYS: the unit's due set. ARGV: item key prefix, now, limit, owner, lease end. Earliest due
-- first; an item whose lease has not ended is someone else's and is skipped.
local out, offset, limit = {}, 0, tonumber(ARGV[3])
while #out < limit do
  local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', offset, 200)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, id in ipairs(ids) do
    local key = ARGV[1] .. id
    local lu = redis.call('HGET', key, 'lu')
    if (not lu) or tonumber(lu) <= tonumber(ARGV[2]) then
      redis.call('HSET', key, 'lo', ARGV[4], 'lu', ARGV[5])
      out[#out + 1] = id
      if #out >= limit then break end
    end
  end
end
return out
