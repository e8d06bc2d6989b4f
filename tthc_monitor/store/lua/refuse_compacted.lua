-- refuse_compacted.lua: refuse new events of a compacted dossier, once.
--
-- KEYS[1]  the dossier's tombstone ({ns}:d:{dossier_id}; "{version}:" then the
--          tombstone of tthc_monitor/store/state.py)
-- KEYS[2]  pipeline statistics ({ns}:stats)
--
-- ARGV[1]  expected version of the tombstone
-- ARGV[2]  the tombstone with the refused ids added (so a redelivery is a duplicate)
-- ARGV[3]  how many event ids are refused
--
-- Returns the new version, or -1 when the stored version is not the expected one (the
-- tombstone changed or expired: re-read). Checks first (types, the integer fields), then
-- writes: the tombstone (its TTL kept) and `refused`, `refused_compacted`.
local function refuse(key, kind, message)
  local actual = redis.call('TYPE', key)['ok']
  return redis.error_reply(message .. ' (key ' .. key .. ' is a ' .. actual ..
    ', refuse_compacted.lua needs a ' .. kind .. '; nothing written)')
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
local reply = redis.pcall('HLEN', KEYS[2])
if type(reply) == 'table' and reply['err'] then
  return refuse(KEYS[2], 'hash', reply['err'])
end
local values = redis.call('HMGET', KEYS[2], 'refused', 'refused_compacted')
for n, name in ipairs({'refused', 'refused_compacted'}) do
  local value = values[n]
  if value and not string.find(value, '^-?%d+$') then
    return redis.error_reply('ERR hash value is not an integer (key ' .. KEYS[2] ..
      ', field ' .. name .. '; nothing written)')
  end
end
local version = current + 1
redis.call('SET', KEYS[1], version .. ':' .. ARGV[2], 'KEEPTTL')
redis.call('HINCRBY', KEYS[2], 'refused', ARGV[3])
redis.call('HINCRBY', KEYS[2], 'refused_compacted', ARGV[3])
return version
