-- apply_dossier.lua: store one dossier's new state and add its counter deltas, atomically.
--
-- KEYS[1]      dossier state           ({ns}:d:{dossier_id}; string "{version}:{state}",
--              the state opaque here: tthc_monitor/store/state.py)
-- KEYS[2]      set of known periods    ({ns}:periods)
-- KEYS[3]      event id index          ({ns}:eid; event_id -> dossier_id)
-- KEYS[4]      pipeline statistics     ({ns}:stats; `applied`, `refused` and
--              `event_id_conflicts` move with the write, so a crash can never count an
--              event twice or not at all)
-- KEYS[5]      alert timers            ({ns}:timers; zset dossier id -> the next fire
--              time of its plan record)
-- KEYS[6]      alert plan records      ({ns}:alert; hash dossier id -> the alerts it has
--              scheduled and not fired, one line each: tthc_monitor/store/schedule_codec.py)
-- KEYS[7]      fired alerts            ({ns}:fired; zset alert id -> fire time)
-- KEYS[8]      refused event ids       ({ns}:eid:conflicts; hash "{event_id}|{dossier_id}"
--              -> the dossier that holds the id)
-- KEYS[9..n]   counter hashes touched  ({ns}:p:{period}, {ns}:g, and {ns}:totals: the
--              running totals over the periods, whose changes the caller sends with the
--              period deltas, so they move in this same atomic call), then the per-unit
--              due indexes touched     ({ns}:open:{unit_id}, {ns}:open:{unit_id}:ia for
--              inter-agency members; zset member -> due)
--
-- ARGV[1]      expected version of the dossier (0 when the dossier is new)
-- ARGV[2]      the dossier's new state (events, contribution, scheduled alerts, index
--              entries), encoded
-- ARGV[3]      dossier id
-- ARGV[4]      number F of fresh event ids that follow
-- ARGV[5..4+F] the event ids this write adds
-- ARGV[5+F]    how many of them the sequence rules refuse
-- then         number P of period names, and P period names to remember in KEYS[2]
-- then         the dossier's whole alert plan, one line per alert in fire-time order
--              ("{id}|{level code}|{stage code}|{fire}|{due}|{unit}\n"); an id in KEYS[7]
--              has fired and is never scheduled again; an alert not in the old record
--              whose fire time is before the horizon cutoff is not scheduled; or "=":
--              the write cannot change the plan (core/update.py, plan-neutral events),
--              the record and the timer stay as they are
-- then         JSON [horizon cutoff (epoch s), [alert ids of the one-timer-per-alert
--              layout before issue 15, to remove: they are scheduled again as part of
--              the record, unless fired]]
-- then         index changes, JSON [[index into KEYS, member, due], ...] (an empty due
--              removes the member)
-- then         every counter that changes, packed in one argument (an argument costs
--              the client more than its bytes): lines "index into KEYS<TAB>field<TAB>
--              delta" ended by a newline
--
-- Returns the new version; -1 when the stored version is not the expected one
-- (another writer got there first: re-read and recompute); or a list
-- {-2, id, holder, new, ...} of fresh event ids already stored with another dossier
-- (`holder`; an event id is the idempotency key across the whole stream): the dossier
-- is not written, and each such id is recorded as refused in KEYS[8] and counted in
-- `refused` and `event_id_conflicts` the first time (`new` 1; 0 for a redelivery).
--
-- Checks first, writes after. Redis does not roll a script back when a command fails
-- midway, so a write that stopped after the state and before the counters would leave
-- the dossier holding events its counters lack, for good (a retry sees nothing new).
-- So every read, parse and check comes before the first write: the type of every key
-- written (or read: a read of the wrong type fails too), the counter and statistics
-- fields HINCRBY will add to, the scores. A failed check returns an error reply,
-- Redis' own message then the key, and nothing is written. KEYS.checked (set by
-- apply_batch.lua, one table for all the writes of a call) remembers the keys whose type
-- was found right: the writes store only the types checked, so they stay right for the
-- rest of the call and are not checked again. (Fields are checked at every write: one
-- HMGET per counter hash costs less than remembering them.)
local checked = KEYS.checked or {}
local expect = {string = 'STRLEN', hash = 'HLEN', set = 'SCARD', zset = 'ZCARD'}
local function refuse(key, kind, message)
  local actual = redis.call('TYPE', key)['ok']
  return redis.error_reply(message .. ' (key ' .. key .. ' is a ' .. actual ..
    ', apply_dossier.lua needs a ' .. kind .. '; nothing written)')
end
local function wrong_type(key, kind)
  if checked[key] then
    return nil
  end
  local reply = redis.pcall(expect[kind], key)
  if type(reply) == 'table' and reply['err'] then
    return refuse(key, kind, reply['err'])
  end
  checked[key] = true
  return nil
end
-- HINCRBY's own rule (a canonical 64-bit integer) and its messages.
local function wrong_integer(key, field, value)
  if value == false or value == '0' then
    return nil
  end
  -- (a canonical integer: no sign but '-', no leading zero, at most 18 digits)
  local message = nil
  if not string.find(value, '^-?[1-9]%d*$') then
    message = 'ERR hash value is not an integer'
  elseif #value > 19 or (#value == 19 and string.byte(value) ~= 45) then
    message = 'ERR increment or decrement would overflow'
  else
    return nil
  end
  return redis.error_reply(message .. ' (key ' .. key .. ', field ' .. field ..
    '; nothing written)')
end

-- 1. Read and check; nothing is written in this part.
local stored = redis.pcall('GET', KEYS[1])
if type(stored) == 'table' and stored['err'] then
  return refuse(KEYS[1], 'string', stored['err'])
end
local current = 0
if stored then
  current = tonumber(string.match(stored, '^(%d+):'))
end
if current ~= tonumber(ARGV[1]) then
  return -1
end
local dossier = ARGV[3]
local fresh = tonumber(ARGV[4])
local refused = tonumber(ARGV[5 + fresh])
local at = 6 + fresh
local periods = tonumber(ARGV[at])
local i = at + periods + 1
local plan = ARGV[i]
local horizon = cjson.decode(ARGV[i + 1])
local cutoff, legacy = tonumber(horizon[1]), horizon[2]
local index_changes = cjson.decode(ARGV[i + 2])
local kinds = {[2] = 'set', [3] = 'hash', [4] = 'hash', [5] = 'zset', [6] = 'hash',
  [7] = 'zset', [8] = 'hash'}
local planned = {}
for line, id, fire in string.gmatch(plan, '(([^|\n]+)|[^|\n]*|[^|\n]*|([^|\n]*)|[^\n]*\n)') do
  if not tonumber(fire) then
    return redis.error_reply('ERR value is not a valid float (fire time of alert ' ..
      id .. ' for key ' .. KEYS[5] .. '; nothing written)')
  end
  planned[#planned + 1] = {line, id, tonumber(fire)}
end
for _, change in ipairs(index_changes) do
  kinds[change[1]] = 'zset'
  if change[3] ~= '' and not tonumber(change[3]) then
    return redis.error_reply('ERR value is not a valid float (due of ' .. change[2] ..
      ' for key ' .. KEYS[change[1]] .. '; nothing written)')
  end
end
-- The counter changes, parsed once, in parallel arrays (a table per change would cost
-- the garbage collector more than the whole check).
local positions, names, deltas = {}, {}, {}
local fields = {}
for index, field, delta in string.gmatch(ARGV[i + 3], '(%d+)\t([^\t]+)\t(-?%d+)\n') do
  local position = tonumber(index)
  local n = #positions + 1
  positions[n], names[n], deltas[n] = position, field, delta
  if not fields[position] then
    kinds[position] = 'hash'
    fields[position] = {}
  end
  local listed = fields[position]
  listed[#listed + 1] = field
end
for position, kind in pairs(kinds) do
  local problem = wrong_type(KEYS[position], kind)
  if problem then
    return problem
  end
end
fields[4] = {'applied', 'refused', 'event_id_conflicts'}
for position, listed in pairs(fields) do
  local key = KEYS[position]
  local values = redis.call('HMGET', key, unpack(listed))
  for n, name in ipairs(listed) do
    local problem = wrong_integer(key, name, values[n])
    if problem then
      return problem
    end
  end
end
-- Running totals ({ns}:totals, one of the counter hashes when the write changes a
-- period): a store with no period and no totals yet is complete from this write on, so
-- it gets the mark `|ready`; a store of an earlier version (periods, no totals) gets it
-- from init_totals.lua (tthc_monitor/store/totals.py).
local totals_key = string.sub(KEYS[2], 1, -8) .. 'totals' -- KEYS[2] is {ns}:periods
local new_totals = false
for position in pairs(fields) do
  if KEYS[position] == totals_key then
    new_totals = redis.call('SCARD', KEYS[2]) == 0 and redis.call('EXISTS', totals_key) == 0
  end
end
-- The new plan record: the planned alerts not fired yet. One scheduled before (in the old
-- record, or a timer of the old layout) stays however late; a new one older than the
-- horizon is left out (docs/alerts.md, "Horizon").
local old_record = redis.call('HGET', KEYS[6], dossier)
local recorded, held = {}, {}
if old_record then
  for id in string.gmatch(old_record, '([^|\n]+)|[^\n]*\n') do
    recorded[id] = true
  end
end
for _, id in ipairs(legacy) do
  held[id] = true
end
local kept, next_fire = {}, nil
if plan == '=' then
  -- The plan is unchanged: keep the record (and so the timer) as it is.
  kept[1] = old_record or ''
end
for _, alert in ipairs(planned) do
  local id, fire = alert[2], alert[3]
  -- An id in the old record has not fired (the claim removes what it fires).
  local keep = recorded[id] or false
  if not keep and not redis.call('ZSCORE', KEYS[7], id) then
    keep = held[id] or fire >= cutoff
  end
  if keep then
    kept[#kept + 1] = alert[1]
    if not next_fire or fire < next_fire then
      next_fire = fire
    end
  end
end
local new_record = table.concat(kept)
local clashes = {-2}
local first_refusals = 0
for n = 5, 4 + fresh do
  local holder = redis.call('HGET', KEYS[3], ARGV[n])
  if holder and holder ~= dossier then
    table.insert(clashes, ARGV[n])
    table.insert(clashes, holder)
    table.insert(clashes, 0)
  end
end

-- 2. Write: every check passed, so no command below can fail on the data.
if #clashes > 1 then
  -- Refused, not a duplicate: the id names another dossier's event. Recorded once, so
  -- a redelivery is not counted again.
  for n = 2, #clashes, 3 do
    if redis.call('HSETNX', KEYS[8], clashes[n] .. '|' .. dossier, clashes[n + 1]) == 1 then
      clashes[n + 2] = 1
      first_refusals = first_refusals + 1
    end
  end
  if first_refusals > 0 then
    redis.call('HINCRBY', KEYS[4], 'refused', first_refusals)
    redis.call('HINCRBY', KEYS[4], 'event_id_conflicts', first_refusals)
  end
  return clashes
end
for n = 5, 4 + fresh do
  redis.call('HSET', KEYS[3], ARGV[n], dossier)
end
local version = current + 1
redis.call('SET', KEYS[1], version .. ':' .. ARGV[2])
redis.call('HINCRBY', KEYS[4], 'applied', fresh)
if refused > 0 then
  redis.call('HINCRBY', KEYS[4], 'refused', refused)
end
for n = at + 1, at + periods do
  redis.call('SADD', KEYS[2], ARGV[n])
end
-- Timers move with the state: a crash never leaves a write without its alerts, and a
-- late event cancels the alerts it makes unwarranted in the same step (the record
-- replaced; one timer per dossier, at its next fire time).
if new_record ~= (old_record or '') then
  if new_record == '' then
    redis.call('HDEL', KEYS[6], dossier)
    redis.call('ZREM', KEYS[5], dossier)
  else
    redis.call('HSET', KEYS[6], dossier, new_record)
    redis.call('ZADD', KEYS[5], next_fire, dossier)
  end
end
for _, id in ipairs(legacy) do
  redis.call('ZREM', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
end
for _, change in ipairs(index_changes) do
  if change[3] == '' then
    redis.call('ZREM', KEYS[change[1]], change[2])
  else
    redis.call('ZADD', KEYS[change[1]], change[3], change[2])
  end
end
for n = 1, #positions do
  local key = KEYS[positions[n]]
  -- Drop fields that fall back to zero so hashes stay as small as the live data.
  if redis.call('HINCRBY', key, names[n], deltas[n]) == 0 then
    redis.call('HDEL', key, names[n])
  end
end
if new_totals then
  redis.call('HSET', totals_key, '|ready', '1')
end
return version
