import { join, resolve } from 'node:path';
import type { AppConfig } from '@image-cloud/config';
import { S3ImageStorage } from '@image-cloud/s3-storage';
import { type ImageStorage, LocalDirectoryStorage } from '@image-cloud/storage';
import { ByteLruDirectory, CacheInvalidation, CachedImageStorage } from '@image-cloud/storage-cache';

/** The storage a process uses, and how to let it go. */
export interface StorageBackend {
  storage: ImageStorage;
  kind: AppConfig['storage']['kind'];
  /** Where the images are, for log lines: DATA_DIR or `s3://bucket/prefix`. */
  location: string;
  close(): Promise<void>;
}

export interface StorageBackendOptions {
  /** Names this process's cache directory, e.g. "server" or "worker-normal" (with PROCESS_INDEX). */
  role: string;
  /** Local storage only: variants kept per original. */
  maxVariantsPerOriginal?: number;
  /** Hears cache and invalidation troubles (never fatal: the object store stays the truth). */
  onCacheTrouble?: (message: string, error?: Error) => void;
}

/**
 * Builds the storage `config.storage` names: DATA_DIR on local disk, or an S3 bucket behind this
 * process's bounded disk cache, kept coherent with the other hosts over Redis pub/sub.
 */
export async function createImageStorage(config: AppConfig, options: StorageBackendOptions): Promise<StorageBackend> {
  const settings = config.storage;
  if (settings.kind === 'local') {
    const storage = new LocalDirectoryStorage({ dataDir: config.dataDir, maxVariantsPerOriginal: options.maxVariantsPerOriginal });
    return { storage, kind: 'local', location: config.dataDir, close: () => storage.close() };
  }

  // One directory per process: every process empties its own at start (see ByteLruDirectory).
  const cacheRoot = resolve(settings.cacheDir ?? join(config.dataDir, 's3-cache'));
  const processDir = join(cacheRoot, `${options.role}-${config.processIndex}`);
  const s3 = new S3ImageStorage({
    bucket: settings.bucket,
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    prefix: settings.prefix,
    downloadDir: join(processDir, 'downloads'),
    // Originals too big for the cache tier still need a file for their render.
    downloadCacheBytes: 2 * config.limits.maxSourceBytes,
  });
  const trouble = options.onCacheTrouble ?? (() => undefined);
  let cached: CachedImageStorage | null = null;
  const invalidation = CacheInvalidation.start(config.redisUrl, s3.location, {
    onInvalidate: (originalKey) => cached?.invalidateOriginal(originalKey),
    onMissedNotices: () => cached?.invalidateAll(),
    onError: (error) => trouble('storage cache invalidation channel failed', error),
  });
  cached = new CachedImageStorage({
    backend: s3,
    cache: ByteLruDirectory.open(join(processDir, 'objects'), settings.cacheBytes),
    invalidation,
  });
  return {
    storage: cached,
    kind: 's3',
    location: `s3://${s3.location}`,
    async close() {
      invalidation.close();
      s3.close();
    },
  };
}
