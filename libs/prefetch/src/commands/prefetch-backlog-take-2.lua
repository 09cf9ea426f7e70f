--[[
  Takes up to `count` entries from the tenants' backlogs by fair share: one entry of each tenant in
  turn (round-robin), so a tenant with 200 000 URLs waiting takes no more ready slots than one with 50.

  KEYS[1] tenants: list of the tenants whose backlog is not empty, in feeding order
  KEYS[2] queued: set of the first 20 hex digits of sha1(url) of every URL in any backlog

  ARGV[1] backlog key prefix: a tenant's backlog is this followed by the tenant
  ARGV[2] count

  Returns {tenant, entry, tenant, entry, …}; an entry is `batchId url`.
]]
local taken = {}
local wanted = tonumber(ARGV[2])
local n = 0
while n < wanted do
  local tenant = redis.call('LMOVE', KEYS[1], KEYS[1], 'LEFT', 'RIGHT')
  if not tenant then break end
  local backlog = ARGV[1] .. tenant
  local entry = redis.call('LPOP', backlog)
  if entry then
    local space = string.find(entry, ' ', 1, true)
    redis.call('SREM', KEYS[2], string.sub(redis.sha1hex(string.sub(entry, space + 1)), 1, 20))
    taken[#taken + 1] = tenant
    taken[#taken + 1] = entry
    n = n + 1
  end
  if redis.call('LLEN', backlog) == 0 then
    redis.call('LREM', KEYS[1], 0, tenant)
  end
end
return taken
