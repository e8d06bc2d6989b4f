-- take_outbox.lua: lease up to n alerts of one sink's outbox to the calling worker.
--
-- KEYS[1]      the sink's outbox   ({ns}:alerts:outbox:{sink}; list, LPUSH in, RPOP out)
-- KEYS[2]      being delivered     ({ns}:alerts:sending:{sink}; zset item -> lease end)
--
-- ARGV[1]      now (wall-clock epoch seconds: leases are about live processes, not
--              business time)
-- ARGV[2]      lease end for the items taken now
-- ARGV[3]      how many to take at most
--
-- Items whose lease ended (their worker died or gave up) go back to the head of the
-- queue first, so a crash between taking and acknowledging re-delivers them. The
-- worker ZREMs an item once the sink has it. Returns the items taken.
local n = tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, n)
for _, item in ipairs(expired) do
  redis.call('ZREM', KEYS[2], item)
  redis.call('RPUSH', KEYS[1], item)
end
local taken = {}
for _ = 1, n do
  local item = redis.call('RPOP', KEYS[1])
  if not item then
    break
  end
  redis.call('ZADD', KEYS[2], ARGV[2], item)
  taken[#taken + 1] = item
end
return taken
