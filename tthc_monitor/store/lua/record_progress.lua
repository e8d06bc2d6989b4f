-- record_progress.lua: after a batch is written, remember how far each input has
-- been applied and bump the pipeline statistics, atomically.
--
-- KEYS[1]   progress hash   ({ns}:progress; field "{topic}:{partition}" -> next offset)
-- KEYS[2]   stats hash      ({ns}:stats)
--
-- ARGV[1]   number N of progress pairs that follow
-- ARGV[2..] N pairs (field, next offset): an offset only ever moves forward
-- then pairs (stats field, increment)
local pairs_count = tonumber(ARGV[1])
local i = 2
for _ = 1, pairs_count do
  local field, offset = ARGV[i], tonumber(ARGV[i + 1])
  local known = tonumber(redis.call('HGET', KEYS[1], field) or '-1')
  if offset > known then
    redis.call('HSET', KEYS[1], field, offset)
  end
  i = i + 2
end
while i <= #ARGV do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
return 1
