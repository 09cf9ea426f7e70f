import { Redis } from 'ioredis';

/** Calls per Redis command since the server started (INFO commandstats). */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

/**
 * Redis commands the whole cluster sent while `work` ran, by command (EVALSHA counts once per
 * script call). Counts every client of that Redis, so benchmarks must run alone.
 */
export async function redisCommandsDuring<T>(redisUrl: string, work: () => Promise<T>): Promise<{ result: T; commands: Map<string, number> }> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    const before = await commandCalls(redis);
    const result = await work();
    const after = await commandCalls(redis);
    const commands = new Map<string, number>();
    for (const [name, calls] of after) {
      const used = calls - (before.get(name) ?? 0) - (name === 'info' ? 1 : 0);
      if (used > 0) commands.set(name, used);
    }
    return { result, commands };
  } finally {
    redis.disconnect();
  }
}
