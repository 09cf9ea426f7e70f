import IORedis, { type Redis } from 'ioredis';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import { defineRedisScript } from '../src';

const INCR_BY = `return redis.call('INCRBY', KEYS[1], ARGV[1])`;

let prefix: string;
let redis: Redis;

beforeAll(() => {
  prefix = uniquePrefix('redis-script');
  redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
});

describe('defineRedisScript (real Redis)', () => {
  it('defines the script on a connection once, and every runner of it shares that definition', async () => {
    const incrBy = defineRedisScript<number>('specIncrBy', 1, INCR_BY);
    const sameAgain = defineRedisScript<number>('specIncrBy', 1, INCR_BY);
    expect(await incrBy(redis, [`${prefix}:n`], [2])).toBe(2);
    const definition = (redis.scriptsSet as Record<string, unknown>)['specIncrBy'];
    expect(await sameAgain(redis, [`${prefix}:n`], ['3'])).toBe(5);
    expect((redis.scriptsSet as Record<string, unknown>)['specIncrBy']).toBe(definition);
  });

  it('refuses a second script under a name already taken, a Redis command name, and the wrong number of keys', () => {
    defineRedisScript<number>('specTaken', 1, INCR_BY);
    expect(() => defineRedisScript<number>('specTaken', 1, `return 1`)).toThrow(/Two different Lua scripts/);
    expect(() => defineRedisScript<string>('get', 1, `return 1`)(redis, [`${prefix}:x`], [])).toThrow(/hide the Redis command/);
    expect(() => defineRedisScript<number>('specTwoKeys', 2, INCR_BY)(redis, [`${prefix}:x`], [1])).toThrow(/takes 2 keys, not 1/);
  });
});
