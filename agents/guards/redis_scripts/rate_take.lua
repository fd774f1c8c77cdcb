-- Take one request from a fixed window shared by every worker: INCR and the first EXPIRE
-- together, so a crash between them cannot leave a counter that never expires.
-- KEYS[1]: the window's counter. ARGV: limit, window_ms, ms left in the window.
-- Returns 0 when taken, else the ms until the window ends.
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then return tonumber(ARGV[3]) end
return 0
