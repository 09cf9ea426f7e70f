export { PrefetchService, MAX_BATCH_URLS } from './prefetch-service';
export { BatchTracker } from './batch-tracker';
