-- due_counts.lua: how many members of each due index fall in each range of dues, in one
-- command (the exporter's live gauges: tthc_monitor/metrics/live.py). Reads only.
--
-- KEYS[1..n]   due indexes ({ns}:open:{unit}, {ns}:open:{unit}:ia)
-- ARGV         the ranges, two ZCOUNT bounds each: low1, high1, low2, high2, ...
--
-- Returns, per key in order, one count per range: a flat list of n * #ranges integers.
local counts = {}
for k = 1, #KEYS do
  for r = 1, #ARGV, 2 do
    counts[#counts + 1] = redis.call('ZCOUNT', KEYS[k], ARGV[r], ARGV[r + 1])
  end
end
return counts
