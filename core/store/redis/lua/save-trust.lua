-- What ingest trusts of devices, merged with what is stored (core/store/device-trust.ts says
-- the same in TypeScript): the later reading time, the later position, every metric name.
-- KEYS[i]: a device, ARGV[i]: JSON {lastReadingAt, position, metrics}. Unknown devices are skipped.
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local u = cjson.decode(ARGV[i])
    local stored = redis.call('HMGET', key, 'lastReadingAt', 'position', 'metrics')
    local at = tonumber(stored[1])
    if u.lastReadingAt ~= cjson.null and (not at or u.lastReadingAt > at) then
      redis.call('HSET', key, 'lastReadingAt', string.format('%.0f', u.lastReadingAt))
    end
    if u.position ~= cjson.null then
      local old = stored[2] and cjson.decode(stored[2])
      if not old or u.position.ts > old.ts then redis.call('HSET', key, 'position', cjson.encode(u.position)) end
    end
    local metrics = stored[3] and cjson.decode(stored[3]) or {}
    local known = {}
    for _, m in ipairs(metrics) do known[m] = true end
    local grew = false
    for _, m in ipairs(u.metrics) do
      if not known[m] then
        known[m] = true
        metrics[#metrics + 1] = m
        grew = true
      end
    end
    if grew then redis.call('HSET', key, 'metrics', cjson.encode(metrics)) end
  end
end
return 1
