/** Names of our own Redis keys, beside BullMQ's under the same prefix (one hash slot with a {tag}). */
export const redisKeys = {
  outcomeChannel: (prefix: string) => `${prefix}:outcomes`,
  failures: (prefix: string, originalKey: string) => `${prefix}:failures:${originalKey}`,
  rerouted: (prefix: string, jobId: string) => `${prefix}:rerouted:${jobId}`,
  originReleases: (prefix: string) => `${prefix}:origin-releases`,
  downloadLock: (prefix: string, originalKey: string) => `${prefix}:lock:download:${originalKey}`,
  rateBucket: (prefix: string, tenant: string) => `${prefix}:rate:${tenant}`,
  batch: (prefix: string, batchId: string) => `${prefix}:batch:${batchId}`,
  fairShare: (prefix: string, tenant: string) => `${prefix}:fair-share:${tenant}`,
  originSlots: (prefix: string, pool: string) => `${prefix}:origin:${pool}:slots`,
  originBackoff: (prefix: string, pool: string) => `${prefix}:origin:${pool}:backoff`,
  originStrikes: (prefix: string, pool: string) => `${prefix}:origin:${pool}:strikes`,
  originSyncWaiters: (prefix: string, pool: string) => `${prefix}:origin:${pool}:sync-waiters`,
  originAsyncWaiters: (prefix: string, pool: string) => `${prefix}:origin:${pool}:async-waiters`,
  originRate: (prefix: string, pool: string) => `${prefix}:origin:${pool}:rate`,
  originReservations: (prefix: string, pool: string) => `${prefix}:origin:${pool}:reservations`,
};
