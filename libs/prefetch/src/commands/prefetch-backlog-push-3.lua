--[[
  Appends prefetches to a tenant's compact backlog, unless their URL is queued in a backlog already,
  and refuses the whole lot when the tenant would go over its cap.

  KEYS[1] backlog: list of `header url` entries (header: batchId, `+p` for placeholders) of one tenant, oldest first
  KEYS[2] queued: set of the first 20 hex digits of sha1(url) of every URL in any backlog
  KEYS[3] tenants: list of the tenants whose backlog is not empty, in feeding order

  ARGV[1] tenant
  ARGV[2] cap: most entries the backlog may hold
  ARGV[3] request size: entries of the whole submission, these included (the cap is checked for
          all of them at once, with its first chunk, so a submission is refused whole or not at
          all); -1: no check (a later chunk)
  ARGV[4] entry header: the batchId, with `+p` when the batch asked for placeholders
  ARGV[5…] canonical URLs

  Returns {added, duplicates, backlog length before} or {-1, 0, backlog length} when refused.
]]
local before = redis.call('LLEN', KEYS[1])
local requestSize = tonumber(ARGV[3])
if requestSize >= 0 and before + requestSize > tonumber(ARGV[2]) then
  return {-1, 0, before}
end
local prefix = ARGV[4] .. ' '
local entries = {}
for i = 5, #ARGV do
  if redis.call('SADD', KEYS[2], string.sub(redis.sha1hex(ARGV[i]), 1, 20)) == 1 then
    entries[#entries + 1] = prefix .. ARGV[i]
  end
end
if #entries > 0 then
  redis.call('RPUSH', KEYS[1], unpack(entries))
  if before == 0 and redis.call('LPOS', KEYS[3], ARGV[1]) == false then
    redis.call('RPUSH', KEYS[3], ARGV[1])
  end
end
return {#entries, (#ARGV - 4) - #entries, before}
