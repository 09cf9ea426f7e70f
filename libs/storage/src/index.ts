export type { ImageStorage, OriginalMeta, VariantMeta, NewOriginalMeta, NewVariantMeta, StoredObject } from './image-storage';
export { LocalDirectoryStorage, type LocalDirectoryStorageOptions } from './local-directory-storage';
export { StoreWritability, type WritabilityState } from './writability';
export { DiskBudget, type DiskBudgetOptions, type BudgetRun, defaultBudgetBytes } from './disk-budget';
export { scanStore, type StoreScan } from './store-scan';
export { assertStorageKey } from './storage-key';
