-- KEYS: the index to walk. ARGV: ticket key prefix, max score, min score, limit, then the
-- allowed statuses, grades and holders, each a count and its values (count 0: any). Newest
-- first, plus every ticket tied with the last one kept (the caller sorts ties by id and cuts).
local P, limit = ARGV[1], tonumber(ARGV[4])
local i = 5
local function set()
  local n = tonumber(ARGV[i]); i = i + 1
  if n == 0 then return nil end
  local s = {}
  for _ = 1, n do s[ARGV[i]] = true; i = i + 1 end
  return s
end
local statuses, grades, holders = set(), set(), set()
local out, offset, boundary = {}, 0, nil
while true do
  local page = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYSCORE', 'REV', 'LIMIT', offset, 200, 'WITHSCORES')
  if #page == 0 then return out end
  offset = offset + #page / 2
  for k = 1, #page, 2 do
    local score = tonumber(page[k + 1])
    if boundary and score < boundary then return out end
    local f = redis.call('HMGET', P .. page[k], 'st', 'gr', 'sc')
    if f[1] and (not statuses or statuses[f[1]]) and (not grades or grades[f[2]]) and (not holders or holders[f[3]]) then
      out[#out + 1] = page[k]
      if #out == limit then boundary = score end
    end
  end
end
