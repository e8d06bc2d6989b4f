-- claim_alerts.lua: take the alerts whose fire time has come, once, into the outboxes.
--
-- KEYS[1]      alert timers    ({ns}:timers; zset alert id -> fire time)
-- KEYS[2]      alert records   ({ns}:alert; hash alert id -> compact record)
-- KEYS[3]      fired alerts    ({ns}:fired; zset alert id -> fire time)
-- KEYS[4]      statistics      ({ns}:stats; `alerts_fired:{level}` counted here)
-- KEYS[5..n]   one outbox list per sink ({ns}:alerts:outbox:{sink})
--
-- ARGV[1]      now (epoch seconds, the caller's clock)
-- ARGV[2]      how many timers to take at most
--
-- Atomic, so two workers sweeping at once never both take an alert, and the fired
-- marker (ZADD NX) keeps an alert id from ever being queued twice. Each outbox gets
-- "{alert id}|{record}". Returns {timers taken, alerts queued}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0,
  tonumber(ARGV[2]))
local queued = 0
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZREM', KEYS[1], id)
  local record = redis.call('HGET', KEYS[2], id)
  if record then
    redis.call('HDEL', KEYS[2], id)
    if redis.call('ZADD', KEYS[3], 'NX', due[i + 1], id) == 1 then
      for k = 5, #KEYS do
        redis.call('LPUSH', KEYS[k], id .. '|' .. record)
      end
      redis.call('HINCRBY', KEYS[4], 'alerts_fired:' .. string.match(record, '^[^|]+'), 1)
      queued = queued + 1
    end
  end
end
return {#due / 2, queued}
