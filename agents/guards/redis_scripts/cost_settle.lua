-- Replace a reservation by the real cost in every scope.
-- KEYS: the reserve script's keys, then a marker key for this reservation.
-- ARGV: id, actual (integer nano-dollars), marker_ttl_ms, alert_at_1..n (nano-dollars, -1 none).
-- The marker makes a second settle of the same reservation (a redelivered step, a retry
-- after a timeout whose first attempt did arrive) a no-op instead of a double count.
-- Returns the scopes (1-based) whose spend just reached their alert level: HSETNX makes that
-- once per scope and window however many workers settle across the line at the same moment.
local id = ARGV[1]
local n = (#KEYS - 1) / 2
local alerts = {}
if not redis.call('SET', KEYS[#KEYS], '1', 'NX', 'PX', ARGV[3]) then return alerts end
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('EXISTS', h) == 1 then
    local held = redis.call('HGET', h, 'r:' .. id)
    if held then
      if held ~= '0' then redis.call('HINCRBY', h, 'reserved', '-' .. held) end
      redis.call('HDEL', h, 'r:' .. id)
    end
    redis.call('ZREM', z, id)
    -- A missing hash means Redis lost the scope; its rebuild reads the spend from Postgres.
    local spent = redis.call('HINCRBY', h, 'spent', ARGV[2])
    local alert_at = tonumber(ARGV[3 + i])
    if alert_at >= 0 and spent >= alert_at and redis.call('HSETNX', h, 'alerted', '1') == 1 then
      table.insert(alerts, i)
    end
  end
end
return alerts
