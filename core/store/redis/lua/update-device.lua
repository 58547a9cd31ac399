-- Provisioning fields of one device. ARGV[1]: id, ARGV[2]: the key prefix of the gateways'
-- device sets, ARGV[3]: JSON object of fields to set, ARGV[4]: JSON array of fields to delete.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local set = cjson.decode(ARGV[3])
local del = cjson.decode(ARGV[4])
local before = redis.call('HGET', KEYS[1], 'gateway')
for field, value in pairs(set) do redis.call('HSET', KEYS[1], field, value) end
for _, field in ipairs(del) do redis.call('HDEL', KEYS[1], field) end
local after = redis.call('HGET', KEYS[1], 'gateway')
if before ~= after then
  if before then redis.call('SREM', ARGV[2] .. before, ARGV[1]) end
  if after then redis.call('SADD', ARGV[2] .. after, ARGV[1]) end
end
return 1
