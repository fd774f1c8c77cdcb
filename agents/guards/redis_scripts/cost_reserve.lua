-- Reserve a step's worst-case cost in every scope (session, user-day, global-hour) or in none.
-- One script: between checking the room left and adding the reservation no other worker can
-- run, which is the race that lets check-then-increment overshoot a ceiling under concurrency.
-- A reserved call also takes its request from its provider's rate window when KEYS[2n+1] is
-- given, in the same round trip (rate_take.lua's three lines: a model call pays one script, not two).
-- KEYS: per scope i, KEYS[2i-1] a hash {spent, reserved, r:<id> = amount} and KEYS[2i] a
--       sorted set of reservation ids scored by expiry (ms); KEYS[2n+1] (optional) the rate window.
-- ARGV: now_ms, ttl_ms, id, amount, ceiling_1..n (-1 = none), key_ttl_ms_1..n, then with
--       KEYS[2n+1]: limit, window_ms, ms left in the window.
-- Amounts are integer nano-dollars; they pass as strings to HINCRBY so no float rounding
-- touches a counter. Returns {code, scope, spent, reserved, rate_wait_ms}: 1 reserved; 0 refused
-- (real spend leaves no room); 2 wait (room once other reservations settle or expire); -1 scope
-- counters missing (Redis lost them: rebuild from Postgres first). rate_wait_ms: 0 when the
-- request was taken (or no window was given), else the ms until the window ends.
local now = tonumber(ARGV[1])
local id = ARGV[3]
local amount = ARGV[4]
local n = math.floor(#KEYS / 2)
local function rate_take()
  if #KEYS == 2 * n then return 0 end
  local count = redis.call('INCR', KEYS[2 * n + 1])
  if count == 1 then redis.call('PEXPIRE', KEYS[2 * n + 1], ARGV[4 + 2 * n + 2]) end
  if count > tonumber(ARGV[4 + 2 * n + 1]) then return tonumber(ARGV[4 + 2 * n + 3]) end
  return 0
end
for i = 1, n do
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 0 then return {-1, i, 0, 0, 0} end
end
-- Reserved already (a retried round trip whose first try arrived): so was its request taken.
if redis.call('HEXISTS', KEYS[1], 'r:' .. id) == 1 then return {1, 0, 0, 0, 0} end
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
  if ceiling >= 0 and spent[i] + want > ceiling then return {0, i, spent[i], reserved[i], 0} end
end
for i = 1, n do
  local ceiling = tonumber(ARGV[4 + i])
  if ceiling >= 0 and spent[i] + reserved[i] + want > ceiling then return {2, i, spent[i], reserved[i], 0} end
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
return {1, 0, 0, 0, rate_take()}
