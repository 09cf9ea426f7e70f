import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ImageStorage, LocalDirectoryStorage } from '@image-cloud/storage';
import {
  describeStorageConformance,
  expectedEtag,
  readAll,
  sampleOriginalMeta,
  sampleVariantMeta,
  testKey,
} from '@image-cloud/storage/testing';
import { TEST_REDIS_URL, uniquePrefix } from '@image-cloud/testing';
import { ByteLruDirectory } from './byte-lru-directory';
import { CacheInvalidation } from './cache-invalidation';
import { CachedImageStorage } from './cached-image-storage';

type Meta = Parameters<ByteLruDirectory<never>['put']>[3];

describeStorageConformance('CachedImageStorage over LocalDirectoryStorage', async () => {
  const root = await mkdtemp(join(tmpdir(), 'image-cloud-cache-conformance-'));
  const backend = new LocalDirectoryStorage({ dataDir: join(root, 'store') });
  const storage = new CachedImageStorage({ backend, cache: ByteLruDirectory.open(join(root, 'cache'), 64 * 1024 * 1024) });
  return {
    storage,
    cleanup: async () => {
      await backend.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

/** A real backend that counts the reads reaching it: what a cache hit must avoid. */
function counting(backend: ImageStorage): { storage: ImageStorage; reads: () => number } {
  let reads = 0;
  const counted = (name: keyof ImageStorage) => (...args: unknown[]) => {
    reads++;
    return (backend[name] as (...a: unknown[]) => unknown).apply(backend, args);
  };
  const storage: ImageStorage = {
    getOriginalMeta: counted('getOriginalMeta') as ImageStorage['getOriginalMeta'],
    readOriginal: counted('readOriginal') as ImageStorage['readOriginal'],
    originalFile: counted('originalFile') as ImageStorage['originalFile'],
    openOriginal: counted('openOriginal') as ImageStorage['openOriginal'],
    getVariantMeta: counted('getVariantMeta') as ImageStorage['getVariantMeta'],
    openVariant: counted('openVariant') as ImageStorage['openVariant'],
    putOriginal: backend.putOriginal.bind(backend),
    putVariant: backend.putVariant.bind(backend),
    deleteImage: backend.deleteImage.bind(backend),
  };
  return { storage, reads: () => reads };
}

describe('CachedImageStorage as a host cache tier', () => {
  const original = testKey('cached original');
  const variant = testKey('cached variant');
  const otherVariant = testKey('other cached variant');
  let root: string;
  let shared: LocalDirectoryStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'image-cloud-cache-'));
    // Stands in for the bucket every host shares.
    shared = new LocalDirectoryStorage({ dataDir: join(root, 'shared') });
  });

  afterEach(async () => {
    await shared.close();
    await rm(root, { recursive: true, force: true });
  });

  function host(name: string, cacheBytes = 16 * 1024 * 1024) {
    const backend = counting(shared);
    const cache = ByteLruDirectory.open<Meta>(join(root, name), cacheBytes);
    return { storage: new CachedImageStorage({ backend: backend.storage, cache }), reads: backend.reads, cache };
  }

  it('serves a hot variant from the host, not the backend, after the first read (small and streamed)', async () => {
    const { storage, reads } = host('a');
    const small = randomBytes(10_000);
    const large = randomBytes(1024 * 1024 + 7);
    await shared.putVariant(original, variant, small, sampleVariantMeta());
    await shared.putVariant(original, otherVariant, large, sampleVariantMeta());

    for (const [key, bytes] of [[variant, small], [otherVariant, large]] as const) {
      expect((await readAll((await storage.openVariant(original, key))!.body)).equals(bytes)).toBe(true);
      const before = reads();
      const hit = await storage.openVariant(original, key);
      expect(hit?.meta.etag).toBe(expectedEtag(bytes));
      expect((await readAll(hit!.body)).equals(bytes)).toBe(true);
      expect(await storage.getVariantMeta(original, key)).toEqual(hit!.meta);
      expect(reads()).toBe(before);
    }
  });

  it('hands a render the original it just stored without reading it back from the backend', async () => {
    const { storage, reads } = host('a');
    const bytes = randomBytes(200_000);
    await storage.putOriginal(original, bytes, sampleOriginalMeta());

    const file = await storage.originalFile(original);
    expect((await readFile(file!.path)).equals(bytes)).toBe(true);
    expect((await storage.readOriginal(original))?.bytes.equals(bytes)).toBe(true);
    expect(reads()).toBe(0);
  });

  it('reads an original once for a render on a host that never saw it: no separate meta lookup first', async () => {
    const { storage, reads } = host('a');
    const bytes = randomBytes(200_000);
    await shared.putOriginal(original, bytes, sampleOriginalMeta());

    const file = await storage.originalFile(original);
    expect((await readFile(file!.path)).equals(bytes)).toBe(true);
    expect(reads()).toBe(1);
    // The meta came with the bytes and is remembered.
    expect((await storage.getOriginalMeta(original))?.etag).toBe(expectedEtag(bytes));
    expect(reads()).toBe(1);
  });

  it('remembers an original\'s meta without its bytes until a change is announced, and never remembers absence', async () => {
    const location = uniquePrefix('storage-cache-meta');
    const hosts = ['a', 'b'].map((name) => {
      const counted = counting(shared);
      let storage: CachedImageStorage | null = null;
      const invalidation = CacheInvalidation.start(TEST_REDIS_URL, location, {
        onInvalidate: (key) => storage?.invalidateOriginal(key),
        onMissedNotices: () => storage?.invalidateAll(),
      });
      storage = new CachedImageStorage({ backend: counted.storage, cache: ByteLruDirectory.open<Meta>(join(root, name), 16 * 1024 * 1024), invalidation });
      return { storage, reads: counted.reads, invalidation };
    });
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const metaOnB = async (expected: string | null) => {
      // Notices travel through Redis: look until b has heard (bounded by tries, not by a time asserted).
      for (let tries = 0; tries < 250 && ((await b.storage.getOriginalMeta(original))?.etag ?? null) !== expected; tries++) await sleep(20);
      return (await b.storage.getOriginalMeta(original))?.etag ?? null;
    };
    try {
      await Promise.all(hosts.map((one) => one.invalidation.subscribed()));
      // Absence is asked every time: a write without any notice is seen at once.
      expect(await b.storage.getOriginalMeta(original)).toBeNull();
      const first = randomBytes(1000);
      await shared.putOriginal(original, first, sampleOriginalMeta());
      expect((await b.storage.getOriginalMeta(original))?.etag).toBe(expectedEtag(first));

      const readsBefore = b.reads();
      expect((await b.storage.getOriginalMeta(original))?.etag).toBe(expectedEtag(first));
      expect(b.reads()).toBe(readsBefore);

      const second = randomBytes(2000);
      await a.storage.putOriginal(original, second, sampleOriginalMeta());
      expect(await metaOnB(expectedEtag(second))).toBe(expectedEtag(second));

      await a.storage.deleteImage(original);
      expect(await metaOnB(null)).toBeNull();

      await shared.putOriginal(original, first, sampleOriginalMeta());
      expect((await b.storage.getOriginalMeta(original))?.etag).toBe(expectedEtag(first));
      // Notices possibly missed: everything remembered is dropped and asked again.
      b.storage.invalidateAll();
      const readsBeforeAll = b.reads();
      await b.storage.getOriginalMeta(original);
      expect(b.reads()).toBe(readsBeforeAll + 1);
    } finally {
      for (const one of hosts) one.invalidation.close();
    }
  });

  it('keeps no partial copy when a reader stops early, and reads the backend again next time', async () => {
    const { storage, reads, cache } = host('a');
    await shared.putVariant(original, variant, randomBytes(2 * 1024 * 1024), sampleVariantMeta());

    const opened = await storage.openVariant(original, variant);
    opened!.body.once('data', () => opened!.body.destroy());
    await new Promise((resolve) => opened!.body.once('close', resolve));
    await sleep(20);

    expect(cache.size).toBe(0);
    expect((await readdir(cache.dir)).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    const before = reads();
    await readAll((await storage.openVariant(original, variant))!.body);
    expect(reads()).toBe(before + 1);
  });

  it('stays within its byte budget, dropping the least recently used first', async () => {
    const { storage, cache } = host('a', 400_000);
    const keys = [testKey('lru 1'), testKey('lru 2'), testKey('lru 3'), testKey('lru 4')];
    for (const key of keys) await storage.putVariant(original, key, randomBytes(90_000), sampleVariantMeta());
    // Touch the first so the second is now the least recently used.
    await readAll((await storage.openVariant(original, keys[0]!))!.body);
    await storage.putVariant(original, testKey('lru 5'), randomBytes(90_000), sampleVariantMeta());

    expect(cache.size).toBeLessThanOrEqual(400_000);
    expect(cache.get(original, keys[0]!)).not.toBeNull();
    expect(cache.get(original, keys[1]!)).toBeNull();
    expect(cache.get(original, testKey('lru 5'))).not.toBeNull();
  });

  it('drops an original and its variants on every host when one host deletes it (Redis pub/sub)', async () => {
    const location = uniquePrefix('storage-cache');
    const a = host('a');
    const b = host('b');
    const joined = await Promise.all(
      [a, b].map((one) =>
        CacheInvalidation.start(TEST_REDIS_URL, location, {
          onInvalidate: (key) => one.storage.invalidateOriginal(key),
          onMissedNotices: () => one.storage.invalidateAll(),
        }),
      ),
    );
    await Promise.all(joined.map((one) => one.subscribed()));
    const withNotices = [a, b].map(
      (one, i) => new CachedImageStorage({ backend: counting(shared).storage, cache: one.cache, invalidation: joined[i] }),
    );
    try {
      await withNotices[0]!.putOriginal(original, randomBytes(1000), sampleOriginalMeta());
      await withNotices[0]!.putVariant(original, variant, randomBytes(1000), sampleVariantMeta());
      // Host b reads both, so it holds copies.
      await readAll((await withNotices[1]!.openVariant(original, variant))!.body);
      await readAll((await withNotices[1]!.openOriginal(original))!.body);
      expect(b.cache.get(original, variant)).not.toBeNull();

      expect(await withNotices[0]!.deleteImage(original)).toBe(2);

      for (let waited = 0; b.cache.get(original, variant) !== null && waited < 5_000; waited += 20) await sleep(20);
      expect(b.cache.get(original, variant)).toBeNull();
      expect(b.cache.get(original, 'original')).toBeNull();
      expect(await withNotices[1]!.openVariant(original, variant)).toBeNull();
      expect(await withNotices[1]!.getOriginalMeta(original)).toBeNull();
    } finally {
      for (const one of joined) one.close();
    }
  });
});
