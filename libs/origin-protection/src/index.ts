export {
  OriginSlots,
  type OriginSlotsOptions,
  type ParkedWake,
  type OriginSlot,
  type OriginSlotAttempt,
  type SlotWaiter,
  type OriginPool,
  type PoolLimit,
  type DomainLimit,
  type DomainLimits,
  originPoolOf,
} from './origin-slots';
export { RedisLease } from './redis-lease';
export { OriginReleases } from './origin-releases';
export { originKeys } from './redis-keys';
