-- read_dossiers.lua: the stored state of many dossiers in one call.
--
-- Why: one HMGET per dossier costs the client a command and six packed arguments; this
-- costs one argument per dossier.
--
-- KEYS         dossier hashes ({ns}:d:{dossier_id})
--
-- Returns, flat, five values per key in order: fields v, ev, c, al, ix (nil if absent).
local out = {}
for i, key in ipairs(KEYS) do
  local values = redis.call('HMGET', key, 'v', 'ev', 'c', 'al', 'ix')
  local base = (i - 1) * 5
  for j = 1, 5 do
    out[base + j] = values[j]
  end
end
return out
