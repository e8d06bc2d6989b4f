-- apply_batch.lua: many dossier writes in one call (the body that follows the two write
-- scripts; tthc_monitor/store/redis_store.py prepends apply_dossier.lua and
-- record_adjustments.lua, each wrapped as a local function of (KEYS, ARGV), so the write
-- rules exist once).
--
-- Why: a call per dossier costs the client a command, its arguments' packing and a
-- reply, which cost more than the write itself. One call carries a chunk of dossiers as
-- one JSON argument instead. Each dossier's write stays what it was: guarded by its own
-- version, all or nothing; a conflict on one dossier does not stop the others.
--
-- KEYS         every key the chunk's writes touch, each once
-- ARGV[1]      JSON [[kind, [positions in KEYS], [arguments], state], ...]: kind 0 is
--              apply_dossier.lua, 1 is record_adjustments.lua; the positions give the
--              write's own KEYS in order; the arguments are its ARGV (strings) but for
--              one, the dossier's encoded state, which is binary (JSON cannot carry
--              it): it is ARGV[state], put at position 2 of apply_dossier.lua's own
--              arguments (position 2 + 3 inside record_adjustments.lua's)
-- ARGV[2..]    the encoded states
--
-- Returns one result per write, in order: what that write's script returns. A write
-- whose checks fail (a key of the wrong type, a counter that is not an integer: see
-- apply_dossier.lua) returns an error reply and writes nothing; the chunk stops there
-- and the call returns that error, Redis' own message naming the key. The writes before
-- it in the chunk are complete (each is all or nothing); the caller retries the whole
-- batch, where they are duplicates.
local results = {}
-- The keys whose type the writes' checks found right, shared by the chunk's writes
-- (apply_dossier.lua, "KEYS.checked").
local checked = {}
for n, call in ipairs(cjson.decode(ARGV[1])) do
  local keys = {checked = checked}
  for j, position in ipairs(call[2]) do
    keys[j] = KEYS[position]
  end
  local args = call[3]
  if call[1] == 1 then
    args[5] = ARGV[call[4]]
    results[n] = record_adjustments(keys, args)
  else
    args[2] = ARGV[call[4]]
    results[n] = apply_dossier(keys, args)
  end
  if type(results[n]) == 'table' and results[n]['err'] then
    return results[n]
  end
end
return results
