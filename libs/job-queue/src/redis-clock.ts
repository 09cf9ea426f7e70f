/**
 * Lua prologue setting `now` to Redis's own clock in ms: every server and worker that shares a
 * Redis key also shares one clock, whatever the machines' clocks say.
 */
export const LUA_NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
