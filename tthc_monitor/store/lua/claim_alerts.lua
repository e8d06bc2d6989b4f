-- claim_alerts.lua: take the alerts whose fire time has come, once, into the outboxes.
--
-- KEYS[1]      alert timers    ({ns}:timers; zset dossier id -> its next fire time)
-- KEYS[2]      alert records   ({ns}:alert; hash dossier id -> plan record: the alerts
--              scheduled and not fired, one line "{id}|{level code}|{stage code}|{fire}|
--              {due}|{unit}" each, tthc_monitor/store/schedule_codec.py)
-- KEYS[3]      fired alerts    ({ns}:fired; zset alert id -> fire time)
-- KEYS[4]      statistics      ({ns}:stats; `alerts_fired:{level}` counted here)
-- KEYS[5..n]   one outbox list per sink ({ns}:alerts:outbox:{sink})
--
-- ARGV[1]      now (epoch seconds, the caller's clock: what is due is business time,
--              which tests move through a month in seconds)
-- ARGV[2]      how many timers to take at most
--
-- One timer per dossier: a due timer's record gives the alerts due now, which are
-- fired; the record keeps the rest and the timer moves to the next of them (or both go).
-- Atomic, so two workers sweeping at once never both take an alert, and the fired
-- marker (ZADD NX) keeps an alert id from ever being queued twice. Each outbox gets
-- "{alert id}|{level}|{stage}|{fire}|{due}|{unit}|{dossier}". A timer of the layout
-- before issue 15 (member an alert id, record "{level}|{stage}|{fire}|{due}|{unit}|
-- {dossier}", no newline) is fired as it was then. Returns {timers taken, alerts queued}.
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
local LEVELS = {s = 'due_soon', t = 'due_today', o = 'overdue', a = 'apology_missing'}
local STAGES = {o = 'owner', i = 'interagency'}
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0,
  tonumber(ARGV[2]))
-- Per timer: what to fire ({id, fire, outbox item, level}) and what to keep.
local timers = {}
local levels = {}
for _, member in ipairs(due) do
  local record = redis.call('HGET', KEYS[2], member)
  local timer = {member = member, record = record, fire = {}, kept = {}, next = nil}
  if record and not string.find(record, '\n', 1, true) then
    -- The layout before issue 15: the member is the alert id.
    local level = string.match(record, '^[^|]+')
    local fire = string.match(record, '^[^|]*|[^|]*|([^|]*)')
    timer.legacy = true
    timer.fire[1] = {member, fire, member .. '|' .. record, level}
  elseif record then
    for line, id, l, s, fire, rest in string.gmatch(record,
        '(([^|\n]+)|([^|\n]*)|([^|\n]*)|([^|\n]*)|([^\n]*)\n)') do
      local at = tonumber(fire)
      if at <= now then
        local level = LEVELS[l]
        timer.fire[#timer.fire + 1] = {id, fire,
          id .. '|' .. level .. '|' .. STAGES[s] .. '|' .. fire .. '|' .. rest .. '|' .. member,
          level}
      else
        timer.kept[#timer.kept + 1] = line
        if not timer.next or at < timer.next then
          timer.next = at
        end
      end
    end
  end
  for _, alert in ipairs(timer.fire) do
    alert[5] = not redis.call('ZSCORE', KEYS[3], alert[1])
    if alert[5] then
      levels['alerts_fired:' .. alert[4]] = true
    end
  end
  timers[#timers + 1] = timer
end
for name in pairs(levels) do
  local value = redis.call('HGET', KEYS[4], name)
  if value and value ~= '0' and not (string.find(value, '^-?[1-9]%d*$') and #value <= 18) then
    return redis.error_reply('ERR hash value is not an integer (key ' .. KEYS[4] ..
      ', field ' .. name .. '; nothing written)')
  end
end

local queued = 0
for _, timer in ipairs(timers) do
  for _, alert in ipairs(timer.fire) do
    if alert[5] then
      redis.call('ZADD', KEYS[3], alert[2], alert[1])
      for k = 5, #KEYS do
        redis.call('LPUSH', KEYS[k], alert[3])
      end
      redis.call('HINCRBY', KEYS[4], 'alerts_fired:' .. alert[4], 1)
      queued = queued + 1
    end
  end
  if timer.next then
    redis.call('HSET', KEYS[2], timer.member, table.concat(timer.kept))
    redis.call('ZADD', KEYS[1], timer.next, timer.member)
  else
    redis.call('ZREM', KEYS[1], timer.member)
    if timer.record then
      redis.call('HDEL', KEYS[2], timer.member)
    end
  end
end
return {#due, queued}
