-- apply_dossier.lua: store one dossier's new state and add its counter deltas, atomically.
--
-- KEYS[1]      dossier state           ({ns}:d:{dossier_id}; string "{version}:{state}",
--              the state opaque here: tthc_monitor/store/state.py)
-- KEYS[2]      set of known periods    ({ns}:periods)
-- KEYS[3]      event id index          ({ns}:eid; event_id -> dossier_id)
-- KEYS[4]      pipeline statistics     ({ns}:stats; `applied` and `refused` move with
--              the write, so a crash can never count an event twice or not at all)
-- KEYS[5]      alert timers            ({ns}:timers; zset alert id -> fire time)
-- KEYS[6]      alert records           ({ns}:alert; hash alert id -> compact record)
-- KEYS[7]      fired alerts            ({ns}:fired; zset alert id -> fire time)
-- KEYS[8..n]   counter hashes touched  ({ns}:p:{period} or {ns}:g), then the per-unit
--              due indexes touched     ({ns}:open:{unit_id}; zset member -> due)
--
-- ARGV[1]      expected version of the dossier (0 when the dossier is new)
-- ARGV[2]      the dossier's new state (events, contribution, scheduled alerts, index
--              entries), encoded
-- ARGV[3]      dossier id
-- ARGV[4]      number F of fresh event ids that follow
-- ARGV[5..4+F] the event ids this write adds
-- ARGV[5+F]    how many of them the sequence rules refuse
-- then         number P of period names, and P period names to remember in KEYS[2]
-- then         alerts to schedule, JSON [[id, fire time, record], ...]; an id in KEYS[7]
--              has fired and is never scheduled again
-- then         alert ids to cancel, JSON [id, ...] (a no-op once fired)
-- then         index changes, JSON [[index into KEYS, member, due], ...] (an empty due
--              removes the member)
-- then         every counter that changes, packed in one argument (an argument costs
--              the client more than its bytes): lines "index into KEYS<TAB>field<TAB>
--              delta" ended by a newline
--
-- Returns the new version; -1 when the stored version is not the expected one
-- (another writer got there first: re-read and recompute); or a list
-- {-2, id, ...} of fresh event ids already stored with another dossier (an event id
-- is the idempotency key across the whole stream): nothing is written.
local stored = redis.call('GET', KEYS[1])
local current = 0
if stored then
  current = tonumber(string.match(stored, '^(%d+):'))
end
if current ~= tonumber(ARGV[1]) then
  return -1
end
local dossier = ARGV[3]
local fresh = tonumber(ARGV[4])
local clashes = {-2}
for i = 5, 4 + fresh do
  local holder = redis.call('HGET', KEYS[3], ARGV[i])
  if holder and holder ~= dossier then
    table.insert(clashes, ARGV[i])
  end
end
if #clashes > 1 then
  return clashes
end
for i = 5, 4 + fresh do
  redis.call('HSET', KEYS[3], ARGV[i], dossier)
end
local version = current + 1
redis.call('SET', KEYS[1], version .. ':' .. ARGV[2])
redis.call('HINCRBY', KEYS[4], 'applied', fresh)
local refused = tonumber(ARGV[5 + fresh])
if refused > 0 then
  redis.call('HINCRBY', KEYS[4], 'refused', refused)
end
local at = 6 + fresh
local periods = tonumber(ARGV[at])
for i = at + 1, at + periods do
  redis.call('SADD', KEYS[2], ARGV[i])
end
local i = at + periods + 1
-- Timers move with the state: a crash never leaves a write without its alerts, and a
-- late event cancels (ZREM) the alerts it makes unwarranted in the same step.
for _, alert in ipairs(cjson.decode(ARGV[i])) do
  if not redis.call('ZSCORE', KEYS[7], alert[1]) then
    redis.call('ZADD', KEYS[5], alert[2], alert[1])
    redis.call('HSET', KEYS[6], alert[1], alert[3])
  end
end
for _, id in ipairs(cjson.decode(ARGV[i + 1])) do
  redis.call('ZREM', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
end
for _, change in ipairs(cjson.decode(ARGV[i + 2])) do
  if change[3] == '' then
    redis.call('ZREM', KEYS[change[1]], change[2])
  else
    redis.call('ZADD', KEYS[change[1]], change[3], change[2])
  end
end
for index, field, delta in string.gmatch(ARGV[i + 3], '(%d+)\t([^\t]+)\t(-?%d+)\n') do
  local key = KEYS[tonumber(index)]
  -- Drop fields that fall back to zero so hashes stay as small as the live data.
  if redis.call('HINCRBY', key, field, delta) == 0 then
    redis.call('HDEL', key, field)
  end
end
return version
