import type { Redis } from 'ioredis';

export type ScriptArgument = string | number;

/**
 * Redis 7 script flags. `allow-oom`: the script runs, and writes, while Redis is at maxmemory and
 * refuses other writes; only for scripts whose keys stay few and small.
 */
export type ScriptFlag = 'allow-oom';

/** Runs one Lua script on a connection: its KEYS, then its ARGV; resolves to the script's reply. */
export type RedisScript<Reply> = (redis: Redis, keys: readonly string[], args: readonly ScriptArgument[]) => Promise<Reply>;

/** Every script defined in this process by name, so two scripts never share a command name. */
const sources = new Map<string, string>();

/**
 * A Lua script (a .lua file, imported as text) as a Redis command of its own: defined on a
 * connection (ioredis defineCommand) the first time it runs there, then called by name, which
 * sends EVALSHA and falls back to EVAL once when Redis does not know the script yet. Classes that
 * share a connection share the definition. `name` must not be a Redis command. `flags` (Redis 7)
 * become the script's `#!lua flags=…` line.
 */
export function defineRedisScript<Reply>(name: string, numberOfKeys: number, source: string, options: { flags?: readonly ScriptFlag[] } = {}): RedisScript<Reply> {
  // The flags line is added here, not kept in the .lua file: test runners strip a leading `#!` line.
  const lua = options.flags?.length ? `#!lua flags=${options.flags.join(',')}\n${source}` : source;
  if (sources.has(name) && sources.get(name) !== lua) throw new Error(`Two different Lua scripts are named "${name}".`);
  sources.set(name, lua);
  return (redis, keys, args) => {
    if (keys.length !== numberOfKeys) throw new Error(`The Lua script "${name}" takes ${numberOfKeys} keys, not ${keys.length}.`);
    const commands = redis as unknown as Record<string, (...values: ScriptArgument[]) => Promise<Reply>>;
    if (!Object.hasOwn(redis.scriptsSet, name)) {
      if (name in commands) throw new Error(`The Lua script "${name}" would hide the Redis command of that name.`);
      redis.defineCommand(name, { numberOfKeys, lua });
    }
    return commands[name]!.call(redis, ...keys, ...args);
  };
}
