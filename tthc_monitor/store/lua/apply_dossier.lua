-- apply_dossier.lua: store one dossier's new state and add its counter deltas, atomically.
--
-- KEYS[1]      dossier hash            ({ns}:d:{dossier_id}; fields v, ev, c)
-- KEYS[2]      set of known periods    ({ns}:periods)
-- KEYS[3..n]   counter hashes touched  ({ns}:p:{period} or {ns}:g)
--
-- ARGV[1]      expected version of the dossier hash (0 when the dossier is new)
-- ARGV[2]      events JSON (the dossier's whole, deduplicated event list)
-- ARGV[3]      contribution JSON (what the dossier now adds to the counters)
-- ARGV[4]      number P of period names that follow
-- ARGV[5..4+P] period names to remember in KEYS[2]
-- then triples (index into KEYS, field, delta) for every counter that changes
--
-- Returns the new version, or -1 when the stored version is not the expected one
-- (another writer got there first: the caller re-reads and recomputes).
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then
  return -1
end
local version = current + 1
redis.call('HSET', KEYS[1], 'v', version, 'ev', ARGV[2], 'c', ARGV[3])
local periods = tonumber(ARGV[4])
for i = 5, 4 + periods do
  redis.call('SADD', KEYS[2], ARGV[i])
end
local i = 5 + periods
while i <= #ARGV do
  local key = KEYS[tonumber(ARGV[i])]
  local field = ARGV[i + 1]
  -- Drop fields that fall back to zero so hashes stay as small as the live data.
  if redis.call('HINCRBY', key, field, ARGV[i + 2]) == 0 then
    redis.call('HDEL', key, field)
  end
  i = i + 3
end
return version
