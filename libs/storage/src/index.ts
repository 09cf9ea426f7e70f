export type { ImageStorage, OriginalMeta, VariantMeta, NewOriginalMeta, NewVariantMeta, StoredObject } from './image-storage';
export { LocalDirectoryStorage, type LocalDirectoryStorageOptions } from './local-directory-storage';
export { StoreWritability, type WritabilityState } from './writability';
