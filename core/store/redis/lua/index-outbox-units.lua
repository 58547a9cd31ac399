-- ARGV: prefix. Pending messages written before the outbox had a queue per unit (only in the
-- global due set) join their unit's queue, and the units' index is rebuilt. Idempotent: run at
-- every start-up, it touches only what is missing.
local P = ARGV[1]
local units = {}
local all = redis.call('ZRANGE', P .. 'obdue', 0, -1, 'WITHSCORES')
for k = 1, #all, 2 do
  local id, due = all[k], all[k + 1]
  local sc = redis.call('HGET', P .. 'ob:' .. id, 'sc')
  if sc then
    redis.call('ZADD', P .. 'obdue:u:' .. sc, 'NX', due, id)
    units[sc] = true
  end
end
local moved = 0
for sc in pairs(units) do
  local first = redis.call('ZRANGE', P .. 'obdue:u:' .. sc, 0, 0, 'WITHSCORES')
  if #first > 0 then redis.call('ZADD', P .. 'obrcv', first[2], sc) end
  moved = moved + 1
end
return moved
