export { ByteLruDirectory, type CachedFile } from './byte-lru-directory';
export { CachedImageStorage, type CachedImageStorageOptions, type InvalidationPublisher } from './cached-image-storage';
export { CacheInvalidation, type CacheInvalidationHandlers } from './cache-invalidation';
