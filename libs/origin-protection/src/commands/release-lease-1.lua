--[[
  Releases a lease, only for its owner.

  KEYS[1] lease key

  ARGV[1] owner token

  Returns 1 when the lease was released, 0 when somebody else holds it or it expired.
]]
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
