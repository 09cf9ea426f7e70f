export { OriginSlots, type OriginSlotsOptions, type OriginSlot, type OriginSlotAttempt, type SlotWaiter } from './origin-slots';
export { RedisLease } from './redis-lease';
export { OriginReleases } from './origin-releases';
export { originKeys } from './redis-keys';
export { downloadLeases, type DownloadLeases } from './download-leases';
