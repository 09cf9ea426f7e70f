import { FetchQueue, RenderQueues, createFailFastConnection } from '@image-cloud/job-queue';
import { LaneLoad } from '@image-cloud/lane-policy';
import { freePort } from '@image-cloud/testing';
import { readClusterState } from './cluster-state';

// A scrape while Redis is away (an outage, or a server shutting down) must fail as one rejection:
// a stray unhandled rejection from the readings not awaited would end the server process.
it('rejects once, leaving no unhandled rejection, when Redis does not answer', async () => {
  const redis = createFailFastConnection(`redis://127.0.0.1:${await freePort()}`, 'cluster-state-spec');
  redis.on('error', () => undefined);
  const prefix = `cluster-state-spec-${process.pid}`;
  const renderQueues = new RenderQueues(redis, prefix, 1);
  const fetchQueue = new FetchQueue(redis, prefix, 1);
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  try {
    await expect(readClusterState(renderQueues, fetchQueue, new LaneLoad(redis, prefix))).rejects.toThrow();
    // Unhandled rejections are reported after the microtask queue drains.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', record);
    await Promise.all([renderQueues.close(), fetchQueue.close()]);
    redis.disconnect();
  }
});
