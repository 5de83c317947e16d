package redis

import goredis "github.com/redis/go-redis/v9"

// Lua scripts. Script.Run sends EVALSHA and falls back to EVAL on NOSCRIPT
// (after SCRIPT FLUSH or a restart). Redis does not roll back a script that
// fails half way, so scripts check everything before their first write.
// Time is frozen while a script runs (Redis ≥ 7.0), so a record cannot
// expire between a script's check and its write.

// applyScript performs a store.Batch.
//
// KEYS[1] is the record set; then, per op in order: Check/Put/Delete the
// record hash; IndexAdd/IndexRemove the index; Append the stream and its
// offset counter; Next the sequence.
// ARGV[1] is the op count; then, per op: a kind letter and its arguments:
//
//	C expect name            P expect name value ttlMillis    D expect name
//	A score member           R member                         L value
//	N
//
// expect is a decimal version or "any". It returns {"ok", results…} with
// one integer per P (new version), L (offset) and N (value), in op order,
// or {"conflict", opNumber, actualVersion} having written nothing.
var applyScript = goredis.NewScript(`
local n = tonumber(ARGV[1])
local a, k = 2, 2
local vers, plan = {}, {}
local function version(key)
  local v = vers[key]
  if v == nil then
    v = tonumber(redis.call('HGET', key, 'ver') or '0')
    vers[key] = v
  end
  return v
end
for i = 1, n do
  local kind = ARGV[a]
  if kind == 'C' or kind == 'P' or kind == 'D' then
    local key, expect, name = KEYS[k], ARGV[a + 1], ARGV[a + 2]
    local have = version(key)
    if expect ~= 'any' and tonumber(expect) ~= have then
      return {'conflict', i, have}
    end
    if kind == 'P' then
      vers[key] = have + 1
      plan[#plan + 1] = {'P', key, name, ARGV[a + 3], tonumber(ARGV[a + 4]), have + 1}
      a = a + 5
    elseif kind == 'D' then
      vers[key] = 0
      plan[#plan + 1] = {'D', key, name}
      a = a + 3
    else
      a = a + 3
    end
    k = k + 1
  elseif kind == 'A' then
    plan[#plan + 1] = {'A', KEYS[k], ARGV[a + 1], ARGV[a + 2]}
    k, a = k + 1, a + 3
  elseif kind == 'R' then
    plan[#plan + 1] = {'R', KEYS[k], ARGV[a + 1]}
    k, a = k + 1, a + 2
  elseif kind == 'L' then
    plan[#plan + 1] = {'L', KEYS[k], KEYS[k + 1], ARGV[a + 1]}
    k, a = k + 2, a + 2
  elseif kind == 'N' then
    plan[#plan + 1] = {'N', KEYS[k]}
    k, a = k + 1, a + 1
  else
    return redis.error_reply('ERR pingan apply: unknown op ' .. tostring(kind))
  end
end
local out = {'ok'}
for _, p in ipairs(plan) do
  local kind = p[1]
  if kind == 'P' then
    redis.call('HSET', p[2], 'v', p[4], 'ver', string.format('%d', p[6]))
    if p[5] > 0 then
      redis.call('PEXPIRE', p[2], p[5])
    else
      redis.call('PERSIST', p[2])
    end
    redis.call('ZADD', KEYS[1], 0, p[3])
    out[#out + 1] = p[6]
  elseif kind == 'D' then
    redis.call('DEL', p[2])
    redis.call('ZREM', KEYS[1], p[3])
  elseif kind == 'A' then
    redis.call('ZADD', p[2], p[3], p[4])
  elseif kind == 'R' then
    redis.call('ZREM', p[2], p[3])
  elseif kind == 'L' then
    local off = redis.call('INCR', p[3])
    redis.call('XADD', p[2], string.format('%d-0', off), 'v', p[4])
    out[#out + 1] = off
  else
    out[#out + 1] = redis.call('INCR', p[2])
  end
end
return out
`)

// scanScript lists live records in key order.
// KEYS[1] record set. ARGV: lex min, lex max, limit (0 = all), record-key
// prefix. Returns {key, value, version, …}; expired keys met on the way
// are removed from the record set.
var scanScript = goredis.NewScript(`
local min, max, limit, pre = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local out, found = {}, 0
while true do
  local keys = redis.call('ZRANGE', KEYS[1], min, max, 'BYLEX', 'LIMIT', 0, 256)
  if #keys == 0 then return out end
  for _, name in ipairs(keys) do
    local h = redis.call('HMGET', pre .. name, 'v', 'ver')
    if h[2] then
      out[#out + 1], out[#out + 2], out[#out + 3] = name, h[1], h[2]
      found = found + 1
      if limit > 0 and found >= limit then return out end
    else
      redis.call('ZREM', KEYS[1], name)
    end
  end
  min = '(' .. keys[#keys]
end
`)

// claimScript removes and returns due index entries.
// KEYS[1] index. ARGV: max score, limit (0 = all).
// Returns {member, score, …} lowest first.
var claimScript = goredis.NewScript(`
local limit = tonumber(ARGV[2])
local items
if limit > 0 then
  items = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'WITHSCORES', 'LIMIT', 0, limit)
else
  items = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'WITHSCORES')
end
for i = 1, #items, 2 do
  redis.call('ZREM', KEYS[1], items[i])
end
return items
`)
