-- Count a call's outcome and open or close the breaker, in one step so concurrent outcomes
-- from many workers are all counted (a read-modify-write from Python would lose some).
-- KEYS[1]: the tool's breaker hash.
-- ARGV: now_ms, failed (1/0), max_consecutive, max_error_rate, min_calls, window_ms, key_ttl_ms.
-- Returns the state after the call.
local h = KEYS[1]
local now = tonumber(ARGV[1])
local failed = ARGV[2] == '1'
local state = redis.call('HGET', h, 'state') or 'closed'
local window_start = tonumber(redis.call('HGET', h, 'window_start') or '0')
if now - window_start >= tonumber(ARGV[6]) then
  redis.call('HSET', h, 'window_start', now, 'calls', 0, 'failures', 0)
end
local calls = redis.call('HINCRBY', h, 'calls', 1)
local failures = tonumber(redis.call('HGET', h, 'failures') or '0')
if failed then
  failures = redis.call('HINCRBY', h, 'failures', 1)
  local consecutive = redis.call('HINCRBY', h, 'consecutive', 1)
  local rate_tripped = calls >= tonumber(ARGV[5]) and failures / calls > tonumber(ARGV[4])
  if state == 'half_open' or consecutive >= tonumber(ARGV[3]) or rate_tripped then
    state = 'open'
    redis.call('HSET', h, 'state', 'open', 'opened_at', now)
  end
else
  redis.call('HSET', h, 'consecutive', 0)
  if state ~= 'closed' then
    -- The probe succeeded: close, and start a fresh window.
    state = 'closed'
    redis.call('HSET', h, 'state', 'closed', 'window_start', now, 'calls', 0, 'failures', 0)
  end
end
redis.call('PEXPIRE', h, ARGV[7])
return state
