-- record_adjustments.lua: apply one dossier write (apply_dossier.lua) and, in the same
-- atomic call, list it as an adjustment of every frozen period whose counters it changes.
--
-- Not run on its own: tthc_monitor/store/redis_store.py (batch_script) wraps
-- apply_dossier.lua and this script each as a local function of (KEYS, ARGV) ahead of
-- apply_batch.lua, which calls this one for a write that may change a frozen period
-- (its keys and arguments: store/snapshots.py, adjusting_call); the write rules exist
-- once. Being one script call, the write and the listing cannot be separated by a
-- freeze: a write before the freeze is in the frozen figures and not listed; a write
-- after it is listed.
--
-- KEYS[1..k]     the keys of apply_dossier.lua (k = ARGV[1])
-- KEYS[k+1..]    per candidate period, two keys: its versions hash ({ns}:snap:{period};
--                fields "{months}" -> latest version, "auto:{months}") and its
--                adjustments hash ({ns}:adj:{period}; event id -> JSON)
--
-- ARGV[1]        k: number of apply_dossier.lua keys
-- ARGV[2]        a: number of apply_dossier.lua arguments
-- ARGV[3]        position (1-based, among those arguments) of the packed counter changes
-- ARGV[4..3+a]   the apply_dossier.lua arguments
-- ARGV[4+a]      the adjustment without its changes: JSON {event_id, event_ids, dossier_id,
--                applied_at}
-- then           per candidate period: the index (into KEYS) of its counter hash
--
-- Returns what apply_dossier.lua returns. An adjustment is stored with HSETNX under the
-- write's first event id, so it is listed once whatever happens later.
--
-- Checks first (as apply_dossier.lua, whose own checks run before its first write): the
-- two hashes of every candidate period and the adjustment's JSON, before the write. A
-- failed check returns an error reply, Redis' own message then the key: nothing written.
local nkeys = tonumber(ARGV[1])
local nargs = tonumber(ARGV[2])
local first_triple = tonumber(ARGV[3])
local apply_keys, apply_args = {checked = KEYS.checked}, {}
for i = 1, nkeys do
  apply_keys[i] = KEYS[i]
end
for i = 1, nargs do
  apply_args[i] = ARGV[3 + i]
end
for k = nkeys + 1, #KEYS do
  local reply = redis.pcall('HLEN', KEYS[k])
  if type(reply) == 'table' and reply['err'] then
    return redis.error_reply(reply['err'] .. ' (key ' .. KEYS[k] .. ' is a ' ..
      redis.call('TYPE', KEYS[k])['ok'] ..
      ', record_adjustments.lua needs a hash; nothing written)')
  end
end
local record = cjson.decode(ARGV[4 + nargs])
local result = apply_dossier(apply_keys, apply_args)
if type(result) ~= 'number' or result < 1 then
  return result -- the dossier was not written (an error reply, a conflict, a refused id)
end
local k = nkeys + 1
for j = 5 + nargs, #ARGV do
  local versions = redis.call('HGETALL', KEYS[k])
  if #versions > 0 then
    local after = {}
    for v = 1, #versions, 2 do
      if not string.find(versions[v], ':', 1, true) then
        after[versions[v]] = tonumber(versions[v + 1])
      end
    end
    local counter = tonumber(ARGV[j])
    local changes = {}
    local packed = apply_args[first_triple]
    for index, field, delta in string.gmatch(packed, '(%d+)\t([^\t]+)\t(-?%d+)\n') do
      if tonumber(index) == counter then
        changes[field] = tonumber(delta)
      end
    end
    record['changes'] = changes
    record['after'] = after
    redis.call('HSETNX', KEYS[k + 1], record['event_id'], cjson.encode(record))
  end
  k = k + 2
end
return result
