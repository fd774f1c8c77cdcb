-- Create a scope's counters from the spend Postgres recorded, unless another worker already
-- did: two workers rebuilding the same scope at once must not both add the total.
-- KEYS: the scope's hash. ARGV: spent (integer nano-dollars), key_ttl_ms.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spent', ARGV[1], 'reserved', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
