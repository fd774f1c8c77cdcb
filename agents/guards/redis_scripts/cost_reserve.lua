-- Reserve a step's worst-case cost in every scope (session, user-day, global-hour) or in none.
-- One script: between checking the room left and adding the reservation no other worker can
-- run, which is the race that lets check-then-increment overshoot a ceiling under concurrency.
-- KEYS: per scope i, KEYS[2i-1] a hash {spent, reserved, r:<id> = amount} and KEYS[2i] a
--       sorted set of reservation ids scored by expiry (ms).
-- ARGV: now_ms, ttl_ms, id, amount, ceiling_1..n (-1 = none), key_ttl_ms_1..n.
-- Amounts are integer nano-dollars; they pass as strings to HINCRBY so no float rounding
-- touches a counter. Returns {code, scope, spent, reserved}: 1 reserved; 0 refused (real spend
-- leaves no room); 2 wait (room once other reservations settle or expire); -1 scope counters
-- missing (Redis lost them: rebuild from Postgres first).
local now = tonumber(ARGV[1])
local id = ARGV[3]
local amount = ARGV[4]
local n = #KEYS / 2
for i = 1, n do
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 0 then return {-1, i, 0, 0} end
end
if redis.call('HEXISTS', KEYS[1], 'r:' .. id) == 1 then return {1, 0, 0, 0} end
local spent, reserved = {}, {}
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  -- Release reservations whose step died without settling (the leak that refuses calls
  -- while real spend is far below the ceiling).
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', now)) do
    local held = redis.call('HGET', h, 'r:' .. rid)
    if held then
      if held ~= '0' then redis.call('HINCRBY', h, 'reserved', '-' .. held) end
      redis.call('HDEL', h, 'r:' .. rid)
    end
    redis.call('ZREM', z, rid)
  end
  spent[i] = tonumber(redis.call('HGET', h, 'spent') or '0')
  reserved[i] = tonumber(redis.call('HGET', h, 'reserved') or '0')
end
local want = tonumber(amount)
for i = 1, n do
  local ceiling = tonumber(ARGV[4 + i])
  if ceiling >= 0 and spent[i] + want > ceiling then return {0, i, spent[i], reserved[i]} end
end
for i = 1, n do
  local ceiling = tonumber(ARGV[4 + i])
  if ceiling >= 0 and spent[i] + reserved[i] + want > ceiling then return {2, i, spent[i], reserved[i]} end
end
local expires = now + tonumber(ARGV[2])
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  redis.call('HSET', h, 'r:' .. id, amount)
  redis.call('HINCRBY', h, 'reserved', amount)
  redis.call('ZADD', z, expires, id)
  redis.call('PEXPIRE', h, ARGV[4 + n + i])
  redis.call('PEXPIRE', z, ARGV[4 + n + i])
end
return {1, 0, 0, 0}
