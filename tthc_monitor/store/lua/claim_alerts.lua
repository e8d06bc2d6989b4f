-- claim_alerts.lua: take the alerts whose fire time has come, once, into the outboxes.
--
-- KEYS[1]      alert timers    ({ns}:timers; zset alert id -> fire time)
-- KEYS[2]      alert records   ({ns}:alert; hash alert id -> compact record)
-- KEYS[3]      fired alerts    ({ns}:fired; zset alert id -> fire time)
-- KEYS[4]      statistics      ({ns}:stats; `alerts_fired:{level}` counted here)
-- KEYS[5..n]   one outbox list per sink ({ns}:alerts:outbox:{sink})
--
-- ARGV[1]      now (epoch seconds, the caller's clock: what is due is business time,
--              which tests move through a month in seconds)
-- ARGV[2]      how many timers to take at most
--
-- Atomic, so two workers sweeping at once never both take an alert, and the fired
-- marker (ZADD NX) keeps an alert id from ever being queued twice. Each outbox gets
-- "{alert id}|{record}". Returns {timers taken, alerts queued}.
--
-- Checks first, writes after (Redis does not roll a script back): the type of every
-- key, and the statistics fields HINCRBY adds to, are checked before the first write.
-- A failed check returns an error reply, Redis' own message then the key, and nothing
-- is taken, so no alert is marked fired without reaching every outbox.
local expect = {hash = 'HLEN', zset = 'ZCARD', list = 'LLEN'}
local kinds = {'zset', 'hash', 'zset', 'hash'}
for k = 5, #KEYS do
  kinds[k] = 'list'
end
for k, kind in ipairs(kinds) do
  local reply = redis.pcall(expect[kind], KEYS[k])
  if type(reply) == 'table' and reply['err'] then
    return redis.error_reply(reply['err'] .. ' (key ' .. KEYS[k] .. ' is a ' ..
      redis.call('TYPE', KEYS[k])['ok'] .. ', claim_alerts.lua needs a ' .. kind ..
      '; nothing written)')
  end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0,
  tonumber(ARGV[2]))
local plan = {}
local levels = {}
for i = 1, #due, 2 do
  local id = due[i]
  local record = redis.call('HGET', KEYS[2], id)
  local queue = false
  if record and not redis.call('ZSCORE', KEYS[3], id) then
    queue = true
    levels['alerts_fired:' .. string.match(record, '^[^|]+')] = true
  end
  plan[#plan + 1] = {id, due[i + 1], record, queue}
end
for name in pairs(levels) do
  local value = redis.call('HGET', KEYS[4], name)
  if value and value ~= '0' and not (string.find(value, '^-?[1-9]%d*$') and #value <= 18) then
    return redis.error_reply('ERR hash value is not an integer (key ' .. KEYS[4] ..
      ', field ' .. name .. '; nothing written)')
  end
end

local queued = 0
for _, alert in ipairs(plan) do
  local id, record = alert[1], alert[3]
  redis.call('ZREM', KEYS[1], id)
  if record then
    redis.call('HDEL', KEYS[2], id)
    if alert[4] then
      redis.call('ZADD', KEYS[3], alert[2], id)
      for k = 5, #KEYS do
        redis.call('LPUSH', KEYS[k], id .. '|' .. record)
      end
      redis.call('HINCRBY', KEYS[4], 'alerts_fired:' .. string.match(record, '^[^|]+'), 1)
      queued = queued + 1
    end
  end
end
return {#due / 2, queued}
