-- init_totals.lua: compute the running totals ({ns}:totals) and the inter-agency due
-- indexes ({ns}:open:{unit}:ia) of a store written before they existed, atomically.
--
-- Run once per store (tthc_monitor/store/totals.py, at `serve` start and by the first
-- reader that finds the totals incomplete); a no-op once `|ready` is set. Being one
-- script, no dossier write can fall between the read of the period hashes and the
-- write of their sums: writes made before it (which already added to the totals) are in
-- the period hashes it sums, writes after it add to the complete totals.
--
-- KEYS[1]        set of known periods   ({ns}:periods)
-- KEYS[2]        running totals         ({ns}:totals; "{unit}|{metric}" -> sum)
-- KEYS[3..2+P]   the counter hash of every period of KEYS[1] ({ns}:p:{period})
-- then           per unit: its due index ({ns}:open:{unit}) and its inter-agency
--                index ({ns}:open:{unit}:ia)
--
-- ARGV[1]        P; ARGV[2..1+P] the period names, as in KEYS[1]
--
-- Returns 1 when the totals were complete already, 2 when computed now, 0 when KEYS[1]
-- no longer holds the periods given (a period was added meanwhile: read it and retry).
-- Reads and checks first, writes after (as apply_dossier.lua).
if redis.call('HEXISTS', KEYS[2], '|ready') == 1 then
  return 1
end
local count = tonumber(ARGV[1])
local given = {}
for n = 2, 1 + count do
  given[ARGV[n]] = true
end
local members = redis.call('SMEMBERS', KEYS[1])
if #members ~= count then
  return 0
end
for _, name in ipairs(members) do
  if not given[name] then
    return 0
  end
end
local sums, order = {}, {}
for k = 3, 2 + count do
  local values = redis.call('HGETALL', KEYS[k])
  for v = 1, #values, 2 do
    local field = values[v]
    if sums[field] == nil then
      sums[field] = 0
      order[#order + 1] = field
    end
    sums[field] = sums[field] + tonumber(values[v + 1])
  end
end
local interagency = {}
for k = 3 + count, #KEYS, 2 do
  local entries = redis.call('ZRANGE', KEYS[k], 0, -1, 'WITHSCORES')
  local kept = {}
  for v = 1, #entries, 2 do
    if string.sub(entries[v], -6) ~= '|owner' then
      kept[#kept + 1] = entries[v + 1]
      kept[#kept + 1] = entries[v]
    end
  end
  interagency[k + 1] = kept
  redis.call('ZCARD', KEYS[k + 1]) -- its type, before any write
end

-- Write.
redis.call('DEL', KEYS[2])
local batch = {}
local function flush_hash()
  if #batch > 0 then
    redis.call('HSET', KEYS[2], unpack(batch))
    batch = {}
  end
end
for _, field in ipairs(order) do
  local sum = sums[field]
  if sum ~= 0 then
    batch[#batch + 1] = field
    batch[#batch + 1] = string.format('%d', sum)
    if #batch >= 1000 then
      flush_hash()
    end
  end
end
flush_hash()
redis.call('HSET', KEYS[2], '|ready', '1')
for key, kept in pairs(interagency) do
  redis.call('DEL', KEYS[key])
  for start = 1, #kept, 1000 do
    redis.call('ZADD', KEYS[key], unpack(kept, start, math.min(start + 999, #kept)))
  end
end
return 2
