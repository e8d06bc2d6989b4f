-- record_progress.lua: how far each input has been applied, the pipeline statistics and
-- the worker's ledger of the messages it has in flight, atomically.
--
-- KEYS[1]   progress hash   ({ns}:progress; "{topic}:{partition}" -> next offset applied)
-- KEYS[2]   stats hash      ({ns}:stats)
-- KEYS[3]   ledger hash     ({ns}:ledger; the worker's, below)
-- KEYS[4]   event id index  ({ns}:eid; read only)
-- KEYS[5]   refused ids     ({ns}:eid:conflicts; read only)
--
-- ARGV[1]   one JSON object, every part optional:
--   "progress": {source: next offset}  advanced (an offset only ever moves forward)
--   "stats":    {name: n}              added (replay, rebuild: counted per run)
-- and the worker's parts (streams/app.py), by which a message counts once however often
-- it is delivered:
--   "judge":  {source: [[offset, event_id, dossier_id] | [offset], ...]} (ascending):
--             decide, once, which events of a batch are duplicates ([offset]: a message
--             that is not an event). Messages below the source's progress are skipped.
--   "claim":  [[source, offset, expected], ...] with "owner" and "mark": take the claim
--             of a dead letter before sending it (expected "": a new claim; otherwise
--             the claim value last seen, taken over only if unchanged).
--   "settle": {source: {"next": n, "letters": [offset, ...]}} with "once": {name: n}:
--             the batch is written; count its messages beyond the recorded progress,
--             release its claims, and advance progress and the dead-letter mark.
--
-- Ledger fields (all of them a few per partition, or per dead letter in flight):
--   "settled|{source}"         next offset whose dead letter, if any, is sent and counted
--                              (the worker's; `rebuild` moves progress only)
--   "claim|{source}:{offset}"  a dead letter being sent: "{owner}|{ms}|{mark}" (Redis time
--                              of the claim; the dead-letter topic's end offset before
--                              the send, where a check for it starts)
--   "judged|{source}"          "{first}|{flags}": verdicts of the events judged and not yet
--                              recorded, one flag per offset from `first`: n (new),
--                              d (duplicate), x (not an event), . (no message)
--
-- Returns JSON: "now" (Redis time, ms); "progress" and "settled" {source: offset} of the
-- sources named, before this call's changes; "claims" {"source:offset": "ok" (claimed
-- for the caller), "done" (already settled) or the claim another attempt holds};
-- "counted" {name: n} the statistics this call added.
--
-- Reads and checks first, writes after (as apply_dossier.lua): Redis does not roll a
-- script back when a command fails midway, and progress moved without its statistics
-- would lose them for good. A statistics field that is not an integer returns an
-- error reply naming it, and nothing is written.
local request = cjson.decode(ARGV[1])
local reply = {progress = {}, settled = {}, claims = {}, counted = {}}
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
reply.now = now
local writes = {}
local increments, names = {}, {}

local function int(n)
  return string.format('%d', n)
end

local function write(...)
  writes[#writes + 1] = {...}
end

local function progress_of(source)
  local stored = tonumber(redis.call('HGET', KEYS[1], source) or '0')
  if reply.progress[source] == nil then
    reply.progress[source] = stored
  end
  return stored
end

local function settled_of(source)
  -- Absent (a new namespace, or one restored or rebuilt): nothing settled yet.
  local stored = tonumber(redis.call('HGET', KEYS[3], 'settled|' .. source) or '0')
  if reply.settled[source] == nil then
    reply.settled[source] = stored
  end
  return stored
end

local function add(name, amount)
  if amount ~= 0 then
    if not increments[name] then
      increments[name] = 0
      names[#names + 1] = name
    end
    increments[name] = increments[name] + amount
  end
end

local function read_judged(source)
  local flags = {}
  local stored = redis.call('HGET', KEYS[3], 'judged|' .. source)
  if stored then
    local first, text = string.match(stored, '^(%d+)|(.*)$')
    first = tonumber(first)
    for n = 1, #text do
      flags[first + n - 1] = string.sub(text, n, n)
    end
  end
  return flags
end

-- Offsets from `from` on only; a flag string with '.' in the gaps (Kafka offsets are not
-- always contiguous: transaction markers).
local function write_judged(source, flags, from)
  local low, high = nil, nil
  for offset in pairs(flags) do
    if offset >= from then
      if not low or offset < low then
        low = offset
      end
      if not high or offset > high then
        high = offset
      end
    end
  end
  if not low then
    write('HDEL', KEYS[3], 'judged|' .. source)
    return
  end
  local text = {}
  for offset = low, high do
    text[#text + 1] = flags[offset] or '.'
  end
  write('HSET', KEYS[3], 'judged|' .. source, int(low) .. '|' .. table.concat(text))
end

-- Plain progress and statistics.
if request.progress then
  for source, offset in pairs(request.progress) do
    if offset > progress_of(source) then
      write('HSET', KEYS[1], source, int(offset))
    end
  end
end
if request.stats then
  for name, amount in pairs(request.stats) do
    add(name, amount)
  end
end

-- Judge: an event is a duplicate when the store already holds its id for its dossier,
-- or holds it refused for that dossier (apply_dossier.lua's rules), or an earlier
-- message of the batch carries it. The verdict of a message is kept until its batch
-- is recorded, so a batch written again after a crash or a failed attempt (whose
-- first write already stored some of its events) keeps its first verdicts.
if request.judge then
  for source, messages in pairs(request.judge) do
    local from = progress_of(source)
    local flags = read_judged(source)
    local seen = {}
    for _, message in ipairs(messages) do
      local offset = message[1]
      if offset >= from then
        local flag = flags[offset]
        if message[2] == nil then
          flag = 'x'
        else
          local event_id, dossier_id = message[2], message[3]
          local id = event_id .. '\n' .. dossier_id
          if flag ~= 'n' and flag ~= 'd' then
            if seen[id]
              or redis.call('HGET', KEYS[4], event_id) == dossier_id
              or redis.call('HEXISTS', KEYS[5], event_id .. '|' .. dossier_id) == 1 then
              flag = 'd'
            else
              flag = 'n'
            end
          end
          seen[id] = true
        end
        flags[offset] = flag
      end
    end
    write_judged(source, flags, from)
  end
end

-- Claims of dead letters, taken before sending them.
if request.claim then
  local value = request.owner .. '|' .. int(now) .. '|' .. int(request.mark or 0)
  for _, claim in ipairs(request.claim) do
    local source, offset, expected = claim[1], claim[2], claim[3]
    local key = source .. ':' .. int(offset)
    if offset < settled_of(source) then
      reply.claims[key] = 'done'
    else
      local current = redis.call('HGET', KEYS[3], 'claim|' .. key)
      if not current or current == expected then
        write('HSET', KEYS[3], 'claim|' .. key, value)
        reply.claims[key] = 'ok'
      else
        reply.claims[key] = current
      end
    end
  end
end

-- Settle a written batch: only messages beyond what is recorded count, so a batch
-- delivered again adds nothing, and one that overlaps another's adds its new part.
if request.settle then
  local advanced = false
  local duplicates, letters = 0, 0
  for source, batch in pairs(request.settle) do
    local before = progress_of(source)
    local settled = settled_of(source)
    local next_offset = batch.next
    local is_letter = {}
    for _, offset in ipairs(batch.letters or {}) do
      is_letter[offset] = true
      if offset >= settled then
        letters = letters + 1
      end
      write('HDEL', KEYS[3], 'claim|' .. source .. ':' .. int(offset))
    end
    local flags = read_judged(source)
    for offset, flag in pairs(flags) do
      if flag == 'd' and offset >= before and offset < next_offset and not is_letter[offset] then
        duplicates = duplicates + 1
      end
    end
    if next_offset > before then
      write('HSET', KEYS[1], source, int(next_offset))
      advanced = true
    end
    if next_offset > settled then
      write('HSET', KEYS[3], 'settled|' .. source, int(next_offset))
    end
    write_judged(source, flags, math.max(before, next_offset))
  end
  add('duplicates', duplicates)
  add('dead_letters', letters)
  if advanced and request.once then
    for name, amount in pairs(request.once) do
      add(name, amount)
    end
  end
end

-- Check (HINCRBY's own rule: a canonical 64-bit integer), then write.
if #names > 0 then
  local values = redis.call('HMGET', KEYS[2], unpack(names))
  for n, name in ipairs(names) do
    local value = values[n]
    if value and value ~= '0' then
      local digits = string.match(value, '^-?([1-9]%d*)$')
      if not digits or #digits > 18 then
        return redis.error_reply('ERR hash value is not an integer (key ' .. KEYS[2] ..
          ', field ' .. name .. '; nothing written)')
      end
    end
  end
end
for _, command in ipairs(writes) do
  redis.call(unpack(command))
end
for _, name in ipairs(names) do
  redis.call('HINCRBY', KEYS[2], name, int(increments[name]))
  reply.counted[name] = increments[name]
end
return cjson.encode(reply)
