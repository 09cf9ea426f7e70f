export { parseRedisAddress, RedisAddressError, SENTINEL_URL_FORM, type RedisAddress } from './redis-address';
export { createRedisClient, redisOptionsFor } from './create-redis-client';
