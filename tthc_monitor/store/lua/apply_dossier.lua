-- apply_dossier.lua: store one dossier's new state and add its counter deltas, atomically.
--
-- KEYS[1]      dossier hash            ({ns}:d:{dossier_id}; fields v, ev, c)
-- KEYS[2]      set of known periods    ({ns}:periods)
-- KEYS[3]      event id index          ({ns}:eid; event_id -> dossier_id)
-- KEYS[4]      pipeline statistics     ({ns}:stats; `applied` and `refused` move with
--              the write, so a crash can never count an event twice or not at all)
-- KEYS[5..n]   counter hashes touched  ({ns}:p:{period} or {ns}:g)
--
-- ARGV[1]      expected version of the dossier hash (0 when the dossier is new)
-- ARGV[2]      events JSON (the dossier's whole, deduplicated event list)
-- ARGV[3]      contribution JSON (what the dossier now adds to the counters)
-- ARGV[4]      dossier id
-- ARGV[5]      number F of fresh event ids that follow
-- ARGV[6..5+F] the event ids this write adds
-- ARGV[6+F]    how many of them the sequence rules refuse
-- then         number P of period names, and P period names to remember in KEYS[2]
-- then         triples (index into KEYS, field, delta) for every counter that changes
--
-- Returns the new version; -1 when the stored version is not the expected one
-- (another writer got there first: re-read and recompute); or a list
-- {-2, id, ...} of fresh event ids already stored with another dossier (an event id
-- is the idempotency key across the whole stream): nothing is written.
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then
  return -1
end
local dossier = ARGV[4]
local fresh = tonumber(ARGV[5])
local clashes = {-2}
for i = 6, 5 + fresh do
  local holder = redis.call('HGET', KEYS[3], ARGV[i])
  if holder and holder ~= dossier then
    table.insert(clashes, ARGV[i])
  end
end
if #clashes > 1 then
  return clashes
end
for i = 6, 5 + fresh do
  redis.call('HSET', KEYS[3], ARGV[i], dossier)
end
local version = current + 1
redis.call('HSET', KEYS[1], 'v', version, 'ev', ARGV[2], 'c', ARGV[3])
redis.call('HINCRBY', KEYS[4], 'applied', fresh)
local refused = tonumber(ARGV[6 + fresh])
if refused > 0 then
  redis.call('HINCRBY', KEYS[4], 'refused', refused)
end
local at = 7 + fresh
local periods = tonumber(ARGV[at])
for i = at + 1, at + periods do
  redis.call('SADD', KEYS[2], ARGV[i])
end
local i = at + periods + 1
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
