export { createBlockingConnection, createFailFastConnection, waitUntilReady, wrongEvictionPolicy } from './redis-connections';
export { RenderQueues, type RenderQueuesOptions, defaultJobOptions } from './render-queues';
export { FailureCache } from './failure-cache';
export { publishOutcome, type OutcomeNotice } from './outcome-publisher';
export { OutcomeWaiter, type WaitOptions } from './outcome-waiter';
export { RedisLease } from './redis-lease';
export { startLaneWorker, type LaneWorkerOptions } from './lane-worker';
export { orUnavailable } from './redis-unavailable';
export { redisKeys } from './redis-keys';
