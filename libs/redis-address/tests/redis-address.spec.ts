import { RedisAddressError, parseRedisAddress, redisOptionsFor } from '@image-cloud/redis-address';

describe('parseRedisAddress', () => {
  it('passes redis:// and rediss:// URLs through unchanged', () => {
    expect(parseRedisAddress('redis://127.0.0.1:6379')).toEqual({ kind: 'direct', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisAddress('rediss://:secret@redis.example:6380/2')).toEqual({ kind: 'direct', url: 'rediss://:secret@redis.example:6380/2' });
  });

  it('reads Sentinels, master name, db and credentials from a redis-sentinel:// URL', () => {
    expect(parseRedisAddress('redis-sentinel://10.0.0.1:26379,10.0.0.2:26380,[::1]/images?db=3&sentinelPassword=s%40p')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26379 },
      ],
      name: 'images',
      db: 3,
      sentinelPassword: 's@p',
    });
    expect(parseRedisAddress('redis-sentinel://app:p%3Ass@sentinel-a/mymaster')).toMatchObject({ username: 'app', password: 'p:ss', db: 0 });
    expect(parseRedisAddress('redis-sentinel://:only-password@sentinel-a:26379/mymaster')).toMatchObject({ password: 'only-password' });
    expect(parseRedisAddress('redis-sentinel://:only-password@sentinel-a:26379/mymaster')).not.toHaveProperty('username');
  });

  it.each([
    ['http://127.0.0.1:6379', /expected a redis:\/\/, rediss:\/\/ or redis-sentinel:\/\/ URL \(got http:\/\/\)/],
    ['127.0.0.1:6379', /expected a redis:\/\/, rediss:\/\/ or redis-sentinel:\/\/ URL$/],
    ['redis://', /not a valid redis:\/\/ URL|has no host/],
    ['redis-sentinel://10.0.0.1:26379', /names no master/],
    ['redis-sentinel://10.0.0.1:26379/', /names no master/],
    ['redis-sentinel:///mymaster', /"" is not a host:port/],
    ['redis-sentinel://a:26379,,b:26379/mymaster', /"" is not a host:port/],
    ['redis-sentinel://a:port/mymaster', /"a:port" is not a host:port/],
    ['redis-sentinel://a:70000/mymaster', /port 70000 of "a:70000" is out of range/],
    ['redis-sentinel://a/mymaster?db=two', /db must be a number \(got "two"\)/],
    ['redis-sentinel://a/mymaster?timeout=5', /unknown parameter "timeout"/],
    ['redis-sentinel://a/my/master', /must look like redis-sentinel:\/\//],
  ])('names the problem with %s', (url, message) => {
    expect(() => parseRedisAddress(url)).toThrow(RedisAddressError);
    expect(() => parseRedisAddress(url)).toThrow(message);
  });

  it('never repeats the password in its error', () => {
    expect(() => parseRedisAddress('redis-sentinel://:hunter2@a:99999/m')).toThrow(/^(?!.*hunter2)/);
  });
});

describe('redisOptionsFor', () => {
  it('keeps the caller’s connection behaviour and adds the Sentinels', () => {
    const options = redisOptionsFor('redis-sentinel://:pw@a:1,b:2/images?db=1', { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: 'x' });
    expect(options).toMatchObject({
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectionName: 'x',
      sentinels: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      name: 'images',
      db: 1,
      password: 'pw',
    });
  });

  it('hands a plain URL to ioredis as it is', () => {
    expect(redisOptionsFor('redis://127.0.0.1:6379/0', { maxRetriesPerRequest: null })).toBe('redis://127.0.0.1:6379/0');
  });
});
