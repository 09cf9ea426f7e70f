--[[
  batch-finished-2.lua, and in the same round trip the release of the original's download lease
  that the job held until its end: a prefetch that stored its original ends with one script call
  instead of two (the lease's release used to be a round trip of its own, just before this one).
  The lease goes first, so a job whose end was counted already still frees it.

  KEYS[1] the BullMQ job's hash (the job is active in the caller, so the hash exists)
  KEYS[2] the batch's hash
  KEYS[3] the download lease the job holds

  ARGV[1] field to increment (`done` or `failed:<code>`)
  ARGV[2] batch TTL in seconds
  ARGV[3] the lease's owner token: released only when it still holds the lease

  Returns 1 when counted, 0 when this job's end was counted already.
]]
if redis.call('GET', KEYS[3]) == ARGV[3] then
  redis.call('DEL', KEYS[3])
end
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HSETNX', KEYS[1], 'batchCounted', 1) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
return 1
