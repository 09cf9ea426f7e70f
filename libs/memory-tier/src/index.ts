export { DEFAULT_MAX_AGE_MS, DEFAULT_MAX_OBJECT_BYTES, MemoryTier, type MemoryTierOptions, type TierEntry } from './memory-tier';
