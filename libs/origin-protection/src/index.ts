export { OriginSlots, type OriginSlotsOptions, type OriginSlot, type OriginSlotAttempt } from './origin-slots';
export { RedisLease } from './redis-lease';
export { OriginReleases } from './origin-releases';
export { originKeys } from './redis-keys';
