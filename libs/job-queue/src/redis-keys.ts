/** Names of our own Redis keys, beside BullMQ's under the same prefix (one hash slot with a {tag}). */
export const redisKeys = {
  outcomeChannel: (prefix: string) => `${prefix}:outcomes`,
  failures: (prefix: string, originalKey: string) => `${prefix}:failures:${originalKey}`,
  /** Marks a render job that left the normal lane, so it is never re-added there. */
  rerouted: (prefix: string, jobId: string) => `${prefix}:rerouted:${jobId}`,
  fairShare: (prefix: string, tenant: string) => `${prefix}:fair-share:${tenant}`,
};
