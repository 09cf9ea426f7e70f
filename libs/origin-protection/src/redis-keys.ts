/** Names of the origin-protection keys, beside BullMQ's under the same prefix (one hash slot with a {tag}). */
export const originKeys = {
  slots: (prefix: string, pool: string) => `${prefix}:origin:${pool}:slots`,
  backoff: (prefix: string, pool: string) => `${prefix}:origin:${pool}:backoff`,
  strikes: (prefix: string, pool: string) => `${prefix}:origin:${pool}:strikes`,
  syncWaiters: (prefix: string, pool: string) => `${prefix}:origin:${pool}:sync-waiters`,
  asyncWaiters: (prefix: string, pool: string) => `${prefix}:origin:${pool}:async-waiters`,
  rate: (prefix: string, pool: string) => `${prefix}:origin:${pool}:rate`,
  reservations: (prefix: string, pool: string) => `${prefix}:origin:${pool}:reservations`,
  /** Pub/sub channel on which a released slot's pool is announced (OriginReleases). */
  releases: (prefix: string) => `${prefix}:origin-releases`,
  /** The lease of the one download of an original (RedisLease). */
  downloadLock: (prefix: string, originalKey: string) => `${prefix}:lock:download:${originalKey}`,
};
