-- compact_dossier.lua: replace a closed dossier's state by its tombstone, atomically.
--
-- KEYS[1]  dossier state ({ns}:d:{dossier_id})
-- KEYS[2]  event id index ({ns}:eid; event_id -> dossier_id)
-- KEYS[3]  the closed index holding the dossier ({ns}:closed:{period}; zset)
-- KEYS[4]  pipeline statistics ({ns}:stats; `compacted`)
-- KEYS[5]  alert timers ({ns}:timers; zset dossier id -> next fire time; before issue
--          15, alert id -> fire time)
--
-- ARGV[1]  expected version of the dossier (the one the caller read and found closed)
-- ARGV[2]  the tombstone (tthc_monitor/store/state.py): the dossier's event ids
-- ARGV[3]  the tombstone's time to live, seconds
-- ARGV[4]  dossier id
-- ARGV[5]  number N of event ids that follow
-- ARGV[6..5+N] the dossier's event ids, removed from KEYS[2] where they name this dossier
-- then     the timers to look for: the ids of the alerts its state lists (the layout
--          before issue 15), then the dossier id
--
-- Returns the new version; -1 when the stored version is not the expected one (a
-- concurrent write wins: the dossier is looked at again at the next run); -3 when one
-- of its alerts is still scheduled in KEYS[5] (not fired yet: a sweeper was down), so
-- the dossier waits for the next run. Checks first
-- (every key's type, the statistics field), writes after, as the other scripts do.
local function refuse(key, kind, message)
  local actual = redis.call('TYPE', key)['ok']
  return redis.error_reply(message .. ' (key ' .. key .. ' is a ' .. actual ..
    ', compact_dossier.lua needs a ' .. kind .. '; nothing written)')
end
local stored = redis.pcall('GET', KEYS[1])
if type(stored) == 'table' and stored['err'] then
  return refuse(KEYS[1], 'string', stored['err'])
end
local current = 0
if stored then
  current = tonumber(string.match(stored, '^(%d+):'))
end
if current == 0 or current ~= tonumber(ARGV[1]) then
  return -1
end
local expect = {[2] = {'HLEN', 'hash'}, [3] = {'ZCARD', 'zset'}, [4] = {'HLEN', 'hash'},
  [5] = {'ZCARD', 'zset'}}
for position, check in pairs(expect) do
  local reply = redis.pcall(check[1], KEYS[position])
  if type(reply) == 'table' and reply['err'] then
    return refuse(KEYS[position], check[2], reply['err'])
  end
end
local counted = redis.call('HGET', KEYS[4], 'compacted')
if counted and not string.find(counted, '^-?%d+$') then
  return redis.error_reply('ERR hash value is not an integer (key ' .. KEYS[4] ..
    ', field compacted; nothing written)')
end
local dossier = ARGV[4]
local ids = tonumber(ARGV[5])
for n = 6 + ids, #ARGV do
  if redis.call('ZSCORE', KEYS[5], ARGV[n]) then
    return -3
  end
end
local version = current + 1
redis.call('SET', KEYS[1], version .. ':' .. ARGV[2], 'EX', ARGV[3])
for n = 6, 5 + ids do
  if redis.call('HGET', KEYS[2], ARGV[n]) == dossier then
    redis.call('HDEL', KEYS[2], ARGV[n])
  end
end
redis.call('ZREM', KEYS[3], dossier)
redis.call('HINCRBY', KEYS[4], 'compacted', 1)
return version
