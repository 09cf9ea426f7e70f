import IORedis, { type Redis, type RedisOptions, SentinelConnector } from 'ioredis';
import { parseRedisAddress } from './redis-address';

/**
 * ioredis's Sentinel connector whose failover detector (a subscriber per Sentinel waiting for
 * +switch-master) ends with the connection to the primary. ioredis stops the detector only on
 * disconnect(), not after QUIT, which is how BullMQ closes the connections it duplicates: every
 * closed worker or queue would leave subscribers reconnecting to the Sentinels for ever. A
 * reconnect starts a fresh detector, so nothing is lost by stopping it when the stream closes.
 */
class ConnectionScopedSentinelConnector extends SentinelConnector {
  override async connect(...args: Parameters<SentinelConnector['connect']>): ReturnType<SentinelConnector['connect']> {
    const stream = await super.connect(...args);
    stream.once('close', () => (this as unknown as { failoverDetector?: { cleanup(): void } | null }).failoverDetector?.cleanup());
    return stream;
  }
}

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
    // Sentinel reconfigures a primary demoted by a planned failover only seconds later; until then
    // it still takes writes that the new primary never sees. The detector reconnects every client
    // as soon as the Sentinels announce +switch-master.
    failoverDetector: true,
    Connector: ConnectionScopedSentinelConnector as NonNullable<RedisOptions['Connector']>,
    // A demoted primary answers writes with READONLY; reconnecting asks the Sentinels for the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
}

/** A new ioredis client for REDIS_URL (redis://, rediss:// or redis-sentinel://) with `behaviour`. */
export function createRedisClient(url: string, behaviour: RedisOptions = {}): Redis {
  const options = redisOptionsFor(url, behaviour);
  return typeof options === 'string' ? new IORedis(options, behaviour) : new IORedis(options);
}
