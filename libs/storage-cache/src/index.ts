export { ByteLruDirectory, type CachedFile } from './byte-lru-directory';
