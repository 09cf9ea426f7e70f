import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './load-config';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(5000);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.redisUrlGiven).toBe(false);
    expect(config.dataDir).toBe(join(process.cwd(), 'data'));
    expect(config.thumbnailSizes).toEqual([200, 250]);
    expect(config.domains).toEqual({ default: 4 });
    expect(config.limits).toEqual({ maxSourceBytes: 30_000_000, maxPixels: 50_000_000, maxFrames: 300, maxOutputPixels: 40_000_000, maxOutputBytes: 50_000_000 });
    expect(config.worker.normalBudgetMs).toBe(5000);
    expect(config.worker.processes).toBeGreaterThanOrEqual(1);
    expect(config.openMode).toBe(true);
  });

  it('runs a server process per core unless server.processes or SERVER_PROCESSES says otherwise', () => {
    expect(loadConfig({}).server.processes).toBe(availableParallelism());
    expect(loadConfig({}, { server: { processes: 3 } }).server.processes).toBe(3);
    // The environment overrides the file, as the storage variables do.
    expect(loadConfig({ SERVER_PROCESSES: '2' }, { server: { processes: 3 } }).server.processes).toBe(2);
    expect(loadConfig({ SERVER_PROCESSES: '' }, { server: { processes: 3 } }).server.processes).toBe(3);
  });

  it('names a server.processes or SERVER_PROCESSES that is not a positive whole number', () => {
    expect(() => loadConfig({}, { server: { processes: 0 } })).toThrow(/CONFIG key server\.processes/);
    expect(() => loadConfig({}, { server: { processes: 1.5 } })).toThrow(/CONFIG key server\.processes/);
    expect(() => loadConfig({ SERVER_PROCESSES: '0' })).toThrow(/environment variable SERVER_PROCESSES/);
    expect(() => loadConfig({ SERVER_PROCESSES: 'two' })).toThrow(/environment variable SERVER_PROCESSES/);
  });

  it('is frozen, deeply', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
  });

  it('names a wrong environment variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/environment variable PORT/);
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL: expected a redis:\/\//);
    expect(() => loadConfig({ WORKER_LANE: 'huge' })).toThrow(/WORKER_LANE/);
  });

  it('takes a redis-sentinel:// REDIS_URL and names what is wrong with a bad one', () => {
    expect(loadConfig({ REDIS_URL: 'redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/images' }).redisUrl).toBe('redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/images');
    expect(() => loadConfig({ REDIS_URL: 'redis-sentinel://10.0.0.1:26379' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis-sentinel://10.0.0.1:26379' })).toThrow(/environment variable REDIS_URL: redis-sentinel URL names no master/);
    expect(() => loadConfig({ REDIS_URL: 'redis-sentinel://10.0.0.1:port/images' })).toThrow(/REDIS_URL: redis-sentinel URL: "10.0.0.1:port" is not a host:port/);
  });

  it('names unknown and mistyped keys of the config file', () => {
    expect(() => loadConfig({}, { limits: { maxPixels: 'many' } })).toThrow(/CONFIG key limits\.maxPixels/);
    expect(() => loadConfig({}, { tenant: {} })).toThrow(/CONFIG key \(top level\): Unrecognized key/);
    expect(() => loadConfig({}, { allowPrivateOrigins: ['localhost'] })).toThrow(/allowPrivateOrigins\.0: expected a CIDR/);
    expect(() => loadConfig({}, { peers: ['http://ic01:5000', 'ic02:5000'] })).toThrow(/peers\.1: expected an http\(s\) URL: the URL must use http or https/);
  });

  it('reads the CONFIG file and keeps the domain default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-spec-'));
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ domains: { 'images.example-shop.de': 2 }, thumbnailSizes: [100] }));
    const config = loadConfig({ CONFIG: path });
    expect(config.domains).toEqual({ default: 4, 'images.example-shop.de': 2 });
    expect(config.thumbnailSizes).toEqual([100]);
    expect(config.configPath).toBe(path);
  });

  it('takes a domain limit as max_downloads.json did (a number) or with a rate, and names a wrong one', () => {
    const config = loadConfig({}, { domains: { 'a.de': 2, 'b.de': { maxParallel: 5, perSecond: 0.5 }, default: { maxParallel: 3 } } });
    expect(config.domains).toEqual({ default: { maxParallel: 3 }, 'a.de': 2, 'b.de': { maxParallel: 5, perSecond: 0.5 } });
    expect(() => loadConfig({}, { domains: { 'c.de': { maxParallel: 2, perSecond: 0 } } })).toThrow(/domains\.c\.de/);
    expect(() => loadConfig({}, { domains: { 'c.de': { perSecond: 2 } } })).toThrow(/domains\.c\.de/);
  });

  it('says when the CONFIG file is missing or not JSON', () => {
    expect(() => loadConfig({ CONFIG: '/nonexistent/config.json' })).toThrow(/CONFIG: cannot read .*ENOENT/);
    const dir = mkdtempSync(join(tmpdir(), 'config-spec-'));
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ not json');
    expect(() => loadConfig({ CONFIG: path })).toThrow(/CONFIG: .* is not valid JSON/);
  });

  it('turns open mode off when tenants exist', () => {
    const config = loadConfig({}, { tenants: { shop: { token: 'a-very-long-secret-token' } } });
    expect(config.openMode).toBe(false);
    expect(config.tenants.shop).toEqual({ token: 'a-very-long-secret-token', requestsPerSecond: 50, burst: 100 });
  });

  it('binds open mode to 127.0.0.1 unless HOST is set; with tenants to every address', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({}, { tenants: { shop: { token: 'a-very-long-secret-token' } } }).host).toBe('0.0.0.0');
  });

  it('defaults the signed URL lifetime to 30 days, and has no admin tokens or self hosts unless given', () => {
    const config = loadConfig({});
    expect(config.signedUrlMaxLifetimeSeconds).toBe(2_592_000);
    expect(config.adminTokens).toEqual([]);
    expect(config.selfHosts).toEqual([]);
  });

  it('has a disk budget by default (a share of the free space, a variant cap), and names a wrong one', () => {
    expect(loadConfig({}).disk).toEqual({ maxFraction: 0.8, maxVariantsPerOriginal: 50, checkIntervalSeconds: 60 });
    expect(loadConfig({}, { disk: { maxBytes: 10_000_000_000 } }).disk.maxBytes).toBe(10_000_000_000);
    expect(() => loadConfig({}, { disk: { maxFraction: 1.5 } })).toThrow(/CONFIG key disk\.maxFraction/);
  });

  it('stores images in DATA_DIR unless storage names an S3 bucket, whose optional keys have defaults', () => {
    expect(loadConfig({}).storage).toEqual({ kind: 'local' });
    expect(loadConfig({}, { storage: { kind: 's3', bucket: 'images' } }).storage).toEqual({
      kind: 's3',
      bucket: 'images',
      forcePathStyle: false,
      cacheBytes: 1024 * 1024 * 1024,
    });
    const full = { kind: 's3', bucket: 'images', endpoint: 'http://minio:9000', region: 'eu-west-1', forcePathStyle: true, prefix: 'cloud-a/', cacheBytes: 5_000_000, cacheDir: '/var/cache/ic' };
    expect(loadConfig({}, { storage: full }).storage).toEqual(full);
  });

  it('keeps 64 MiB of hot images in each server process unless server.memoryCacheBytes or MEMORY_CACHE_BYTES says otherwise', () => {
    expect(loadConfig({}).server.memoryCacheBytes).toBe(64 * 1024 * 1024);
    expect(loadConfig({}, { server: { memoryCacheBytes: 0 } }).server.memoryCacheBytes).toBe(0);
    expect(loadConfig({ MEMORY_CACHE_BYTES: '1000' }, { server: { memoryCacheBytes: 0 } }).server.memoryCacheBytes).toBe(1000);
    expect(loadConfig({ MEMORY_CACHE_BYTES: '' }, { server: { memoryCacheBytes: 5 } }).server.memoryCacheBytes).toBe(5);
    expect(() => loadConfig({ MEMORY_CACHE_BYTES: '-1' })).toThrow(/environment variable MEMORY_CACHE_BYTES/);
    expect(() => loadConfig({}, { server: { memoryCacheBytes: 'lots' } })).toThrow(/server.memoryCacheBytes/);
  });

  it('names a wrong storage section', () => {
    expect(() => loadConfig({}, { storage: { kind: 's3' } })).toThrow(/CONFIG key storage\.bucket/);
    expect(() => loadConfig({}, { storage: { kind: 'gcs' } })).toThrow(/CONFIG key storage/);
    expect(() => loadConfig({}, { storage: { kind: 's3', bucket: 'b', endpoint: 'ftp://x' } })).toThrow(/CONFIG key storage\.endpoint/);
    expect(() => loadConfig({}, { storage: { kind: 's3', bucket: 'b', secretAccessKey: 'x' } })).toThrow(/storage.*secretAccessKey|Unrecognized key/);
    expect(() => loadConfig({}, { storage: { kind: 'local', bucket: 'b' } })).toThrow(/CONFIG key storage/);
  });

  describe('storage from the environment', () => {
    const s3Env = { STORAGE_KIND: 's3', S3_BUCKET: 'images', S3_ENDPOINT: 'http://minio:9000', S3_REGION: 'eu-central-1', S3_FORCE_PATH_STYLE: 'true', S3_PREFIX: 'cloud-a/', STORAGE_CACHE_BYTES: '5000000', STORAGE_CACHE_DIR: '/var/cache/ic' };

    it('sets every storage key without a CONFIG file', () => {
      expect(loadConfig(s3Env).storage).toEqual({ kind: 's3', bucket: 'images', endpoint: 'http://minio:9000', region: 'eu-central-1', forcePathStyle: true, prefix: 'cloud-a/', cacheBytes: 5_000_000, cacheDir: '/var/cache/ic' });
      expect(loadConfig({ STORAGE_KIND: 's3', S3_BUCKET: 'images' }).storage).toEqual({ kind: 's3', bucket: 'images', forcePathStyle: false, cacheBytes: 1024 * 1024 * 1024 });
    });

    it('overrides the file key by key and keeps the file keys the environment does not set', () => {
      const file = { storage: { kind: 's3', bucket: 'from-file', region: 'us-east-1', prefix: 'file/', forcePathStyle: true } };
      expect(loadConfig({ S3_BUCKET: 'from-env', S3_FORCE_PATH_STYLE: 'false' }, file).storage).toEqual({ kind: 's3', bucket: 'from-env', region: 'us-east-1', prefix: 'file/', forcePathStyle: false, cacheBytes: 1024 * 1024 * 1024 });
      expect(loadConfig({ STORAGE_KIND: 'local' }, file).storage).toEqual({ kind: 'local' });
      expect(loadConfig({ STORAGE_KIND: 's3', S3_BUCKET: 'b' }, { storage: { kind: 'local' } }).storage).toMatchObject({ kind: 's3', bucket: 'b' });
      expect(loadConfig({}, file).storage).toMatchObject({ bucket: 'from-file' });
    });

    it('treats an empty variable as unset (compose passes "${S3_BUCKET:-}" as "")', () => {
      const empty = Object.fromEntries(Object.keys(s3Env).map((name) => [name, '']));
      expect(loadConfig(empty).storage).toEqual({ kind: 'local' });
      expect(loadConfig({ ...empty, STORAGE_KIND: 's3', S3_BUCKET: 'images' }).storage).toEqual({ kind: 's3', bucket: 'images', forcePathStyle: false, cacheBytes: 1024 * 1024 * 1024 });
    });

    it('names the variable that is wrong or missing', () => {
      expect(() => loadConfig({ ...s3Env, S3_FORCE_PATH_STYLE: 'yes' })).toThrow(/environment variable S3_FORCE_PATH_STYLE: expected "true" or "false"/);
      expect(() => loadConfig({ ...s3Env, STORAGE_CACHE_BYTES: 'lots' })).toThrow(/environment variable STORAGE_CACHE_BYTES/);
      expect(() => loadConfig({ ...s3Env, STORAGE_KIND: 'gcs' })).toThrow(/environment variable STORAGE_KIND/);
      expect(() => loadConfig({ ...s3Env, S3_ENDPOINT: 'minio:9000' })).toThrow(/environment variable S3_ENDPOINT \(storage\.endpoint\):/);
      expect(() => loadConfig({ ...s3Env, S3_PREFIX: 'a b' })).toThrow(/environment variable S3_PREFIX \(storage\.prefix\): use letters/);
      expect(() => loadConfig({ STORAGE_KIND: 's3' })).toThrow(/CONFIG key storage\.bucket \(or S3_BUCKET\)/);
    });

    it('refuses S3 settings while storage is local, naming them', () => {
      expect(() => loadConfig({ S3_BUCKET: 'images', S3_REGION: 'eu-central-1' })).toThrow(/environment variable S3_BUCKET, S3_REGION: only used with storage kind "s3"/);
      expect(() => loadConfig({ STORAGE_KIND: 'local', S3_BUCKET: 'images' }, { storage: { kind: 's3', bucket: 'x' } })).toThrow(/S3_BUCKET: only used/);
    });
  });
});
