-- take_outbox.lua: lease up to n alerts of one sink's outbox to the calling worker.
--
-- KEYS[1]      the sink's outbox   ({ns}:alerts:outbox:{sink}; list, LPUSH in, RPOP out)
-- KEYS[2]      being delivered     ({ns}:alerts:sending:{sink}; zset item -> lease end)
--
-- ARGV[1]      lease length (seconds, may be fractional)
-- ARGV[2]      how many to take at most
--
-- Leases are timed by Redis (TIME), not by the workers: a worker whose clock runs ahead
-- would otherwise take items another worker is still delivering, and one whose clock is
-- behind would hold its items too long. Items whose lease ended (their worker died or
-- gave up) go back to the head of the queue first, so a crash between taking and
-- acknowledging re-delivers them. The worker ZREMs an item once the sink has it.
-- Returns the items taken.
--
-- Checks first (Redis does not roll a script back): both keys' types, before the first
-- write. A failed check returns an error reply, Redis' own message then the key, and
-- nothing is moved.
for k, kind in ipairs({'list', 'zset'}) do
  local reply = redis.pcall(kind == 'list' and 'LLEN' or 'ZCARD', KEYS[k])
  if type(reply) == 'table' and reply['err'] then
    return redis.error_reply(reply['err'] .. ' (key ' .. KEYS[k] .. ' is a ' ..
      redis.call('TYPE', KEYS[k])['ok'] .. ', take_outbox.lua needs a ' .. kind ..
      '; nothing written)')
  end
end
local lease = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
if not lease or lease <= 0 or not n then
  return redis.error_reply('ERR lease seconds and count must be numbers (nothing written)')
end
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local now_text = string.format('%.6f', now)
local lease_end = string.format('%.6f', now + lease)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_text, 'LIMIT', 0, n)
-- Pushed at the head (RPOP's end) last first, so they come out in the zset's order.
for e = #expired, 1, -1 do
  redis.call('ZREM', KEYS[2], expired[e])
  redis.call('RPUSH', KEYS[1], expired[e])
end
local taken = {}
for _ = 1, n do
  local item = redis.call('RPOP', KEYS[1])
  if not item then
    break
  end
  redis.call('ZADD', KEYS[2], lease_end, item)
  taken[#taken + 1] = item
end
return taken
