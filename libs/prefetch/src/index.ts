export { PrefetchService, type PrefetchCaps } from './prefetch-service';
export { BatchTracker } from './batch-tracker';
export { PrefetchBacklog, type BacklogEntry } from './prefetch-backlog';
export { PrefetchFeeder } from './prefetch-feeder';
