--[[
  Counts one prefetch of a batch as ended (done, or failed with a code) once per run of its job:
  a job that ran to its end but could not be marked finished (a Redis failover, a stalled lock) runs
  again, and its second end must not be counted twice. The mark lives in the job's own hash, so it
  goes when the job is removed, and a later batch queueing the same URL again counts afresh.

  In the same round trip it releases the original's download lease the job held until its end, when
  it holds one: a prefetch that stored its original ends with one script call instead of two. The
  lease goes first, so a job whose end was counted already still frees it.

  KEYS[1] the BullMQ job's hash (the job is active in the caller, so the hash exists)
  KEYS[2] the batch's hash
  KEYS[3] the download lease the job holds; any key when it holds none (see ARGV[3])

  ARGV[1] field to increment (`done` or `failed:<code>`)
  ARGV[2] batch TTL in seconds
  ARGV[3] the lease's owner token, released only when it still holds the lease; '' for no lease

  Returns 1 when counted, 0 when this job's end was counted already.
]]
if ARGV[3] ~= '' and redis.call('GET', KEYS[3]) == ARGV[3] then
  redis.call('DEL', KEYS[3])
end
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HSETNX', KEYS[1], 'batchCounted', 1) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
return 1
