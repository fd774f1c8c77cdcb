-- May this call go to the tool? Shared by every worker, so the check and the move to
-- half-open are one step: two workers seeing an expired cool-down at once must not both
-- probe a tool that is still down (only one gets the probe; the other fails fast).
-- An admitted call also takes its request from the tool's rate window when KEYS[2] is given,
-- in the same round trip (rate_take.lua's three lines: a tool call pays one script, not two).
-- KEYS[1]: the tool's breaker hash {state, consecutive, opened_at, probe_until, ...};
-- KEYS[2] (optional): the tool's rate window counter.
-- ARGV: now_ms, cooldown_ms, probe_ttl_ms, then with KEYS[2]: limit, window_ms, ms left in the window.
-- Returns {admitted (1/0), state, wait_ms, rate_wait_ms (0 when the request was taken)}.
local function rate_take()
  if #KEYS < 2 then return 0 end
  local count = redis.call('INCR', KEYS[2])
  if count == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
  if count > tonumber(ARGV[4]) then return tonumber(ARGV[6]) end
  return 0
end
local now = tonumber(ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return {1, state, 0, rate_take()} end
if state == 'open' then
  local reopen = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0') + tonumber(ARGV[2])
  if now < reopen then return {0, state, reopen - now, 0} end
else
  -- half_open: one probe is out; a probe that never reported (its worker died) expires.
  local probe_until = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
  if now < probe_until then return {0, state, probe_until - now, 0} end
end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + tonumber(ARGV[3]))
return {1, 'half_open', 0, rate_take()}
