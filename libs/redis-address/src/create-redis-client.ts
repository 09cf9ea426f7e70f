import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import { parseRedisAddress } from './redis-address';

/**
 * The ioredis options for REDIS_URL merged with the caller's connection behaviour (fail-fast or
 * blocking). Every Redis connection the cloud makes goes through here, so a Sentinel address works
 * for all of them or for none.
 */
export function redisOptionsFor(url: string, behaviour: RedisOptions): RedisOptions | string {
  const address = parseRedisAddress(url);
  if (address.kind === 'direct') return address.url;
  return {
    ...behaviour,
    sentinels: address.sentinels,
    name: address.name,
    db: address.db,
    ...(address.username ? { username: address.username } : {}),
    ...(address.password ? { password: address.password } : {}),
    ...(address.sentinelPassword ? { sentinelPassword: address.sentinelPassword } : {}),
    // A primary demoted by a failover answers writes with READONLY until Sentinel disconnects its
    // clients; reconnecting asks the Sentinels for the new primary instead of failing the command.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    // Reconnect as soon as the Sentinels announce +switch-master, not only when the old primary drops us.
    failoverDetector: true,
  };
}

/** A new ioredis client for REDIS_URL (redis://, rediss:// or redis-sentinel://) with `behaviour`. */
export function createRedisClient(url: string, behaviour: RedisOptions = {}): Redis {
  const options = redisOptionsFor(url, behaviour);
  return typeof options === 'string' ? new IORedis(options, behaviour) : new IORedis(options);
}
