/** The common prefix of every image-cloud metric (the process metrics keep their standard names). */
export const METRIC_PREFIX = 'image_cloud_';

/** Histogram buckets for request and job durations, in seconds: from a cache hit to the big lane's 60 s budget. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90];
