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
  /**
   * Tells every process sharing the store that objects of this original changed behind the
   * storage's own calls (the disk budget unlinking variants), so memory tiers drop their copies.
   */
  announceChange(originalKey: string): Promise<void>;
  close(): Promise<void>;
}

export interface StorageBackendOptions {
  /** Names this process's cache directory, e.g. "server" or "worker-normal" (with PROCESS_INDEX). */
  role: string;
  /** Local storage only: variants kept per original. */
  maxVariantsPerOriginal?: number;
  /** Hears cache and invalidation troubles (never fatal: the object store stays the truth). */
  onCacheTrouble?: (message: string, error?: Error) => void;
  /**
   * Told whenever an original's objects change or go away, in this process or any other sharing
   * the store (a memory cache above the storage keeps itself exact with it). @defaultValue nobody
   */
  changes?: StorageChangeListener;
}

/** Hears changes of the store, made here or by any other process sharing it. */
export interface StorageChangeListener {
  /** An original was rewritten or deleted (with its variants). */
  onInvalidate(originalKey: string): void;
  /** Changes may have been missed (the notice channel was down): nothing kept may be trusted. */
  onMissedNotices(): void;
}

/**
 * Builds the storage `config.storage` names: DATA_DIR on local disk, or an S3 bucket behind this
 * process's bounded disk cache, kept coherent with the other hosts over Redis pub/sub.
 */
export async function createImageStorage(config: AppConfig, options: StorageBackendOptions): Promise<StorageBackend> {
  const settings = config.storage;
  const trouble = options.onCacheTrouble ?? (() => undefined);
  if (settings.kind === 'local') {
    // Every process of the DATA_DIR announces its deletes, so the servers' memory tiers hear them;
    // only a process with a change listener listens.
    const invalidation = CacheInvalidation.start(
      config.redisUrl,
      config.dataDir,
      {
        onInvalidate: (originalKey) => options.changes?.onInvalidate(originalKey),
        onMissedNotices: () => options.changes?.onMissedNotices(),
        onError: (error) => trouble('storage change notices failed', error),
      },
      { listen: options.changes !== undefined },
    );
    const storage = new LocalDirectoryStorage({
      dataDir: config.dataDir,
      maxVariantsPerOriginal: options.maxVariantsPerOriginal,
      onOriginalChanged: (originalKey) => invalidation.publish(originalKey),
    });
    return {
      storage,
      kind: 'local',
      location: config.dataDir,
      announceChange: (originalKey) => invalidation.publish(originalKey),
      async close() {
        invalidation.close();
        await storage.close();
      },
    };
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
  let cached: CachedImageStorage | null = null;
  const invalidation = CacheInvalidation.start(config.redisUrl, s3.location, {
    onInvalidate: (originalKey) => {
      cached?.invalidateOriginal(originalKey);
      options.changes?.onInvalidate(originalKey);
    },
    onMissedNotices: () => {
      cached?.invalidateAll();
      options.changes?.onMissedNotices();
    },
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
    announceChange: (originalKey) => invalidation.publish(originalKey),
    async close() {
      invalidation.close();
      s3.close();
    },
  };
}
