-- KEYS: the key. ARGV: '1' when a current value is expected, its JSON, '1' when a next value
-- is to be set, its JSON. Values compare as the JSON text they are stored as.
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[4]) else redis.call('DEL', KEYS[1]) end
return 1
