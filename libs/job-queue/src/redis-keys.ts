/** Names of our own Redis keys, beside BullMQ's under the same prefix (one hash slot with a {tag}). */
export const redisKeys = {
  outcomeChannel: (prefix: string) => `${prefix}:outcomes`,
  failures: (prefix: string, originalKey: string) => `${prefix}:failures:${originalKey}`,
  laneWorkers: (prefix: string, size: string) => `${prefix}:lane-workers:${size}`,
  laneStats: (prefix: string, size: string) => `${prefix}:lane-stats:${size}`,
  fairShare: (prefix: string, tenant: string) => `${prefix}:fair-share:${tenant}`,
};
