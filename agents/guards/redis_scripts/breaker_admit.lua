-- May this call go to the tool? Shared by every worker, so the check and the move to
-- half-open are one step: two workers seeing an expired cool-down at once must not both
-- probe a tool that is still down (only one gets the probe; the other fails fast).
-- KEYS[1]: the tool's breaker hash {state, consecutive, opened_at, probe_until, ...}.
-- ARGV: now_ms, cooldown_ms, probe_ttl_ms.
-- Returns {admitted (1/0), state, wait_ms}.
local now = tonumber(ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return {1, state, 0} end
if state == 'open' then
  local reopen = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0') + tonumber(ARGV[2])
  if now < reopen then return {0, state, reopen - now} end
else
  -- half_open: one probe is out; a probe that never reported (its worker died) expires.
  local probe_until = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
  if now < probe_until then return {0, state, probe_until - now} end
end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + tonumber(ARGV[3]))
return {1, 'half_open', 0}
