import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchProgress, batchProgressSchema } from '@image-cloud/contracts';
import { makeImage } from '@image-cloud/imaging/testing';
import { createRedisClient } from '@image-cloud/redis-address';
import { freePort, waitUntil } from '@image-cloud/testing';
import IORedis from 'ioredis';
import { OwnRedis } from './own-redis';
import { OwnSentinels, findRedisSentinel } from './own-sentinels';
import { submitBatch } from './prefetch-batches';
import { track } from './settled';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * A primary, one replica and three Sentinels on loopback; the cloud gets REDIS_URL=redis-sentinel://…
 * Work is queued, then the primary is switched over (SENTINEL FAILOVER) and later killed outright:
 * server and workers reconnect to the new primary by themselves and every queued job completes.
 * Needs Debian's redis-sentinel; without it the suite says so in one line and skips.
 */

const sentinelBinary = findRedisSentinel();
if (!sentinelBinary) process.stdout.write('redis-sentinel-failover tests not run: no redis-sentinel installed (Debian: apt-get install redis-sentinel)\n');
const describeWithSentinel = sentinelBinary ? describe : describe.skip;

const MASTER_NAME = 'image-cloud-test';
/**
 * Both servers may become primary or replica; a replica starts syncing at once, and loads the
 * primary's snapshot from the socket instead of writing a dump.rdb into the working directory.
 */
const REPLICATION_ARGS = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--repl-diskless-load', 'swapdb', '--maxmemory-policy', 'noeviction'];
/** Long enough that fetches are still running when the primary changes, well under the fetch timeouts. */
const ORIGIN_DELAY_MS = 400;

describeWithSentinel('Redis Sentinel failover', () => {
  let first: OwnRedis;
  let second: OwnRedis;
  let sentinels: OwnSentinels;
  let system: SystemUnderTest;
  const serverByPort = () => new Map([first, second].map((redis) => [redis.port, redis]));

  beforeAll(async () => {
    first = new OwnRedis(await freePort(), REPLICATION_ARGS);
    await first.start();
    second = new OwnRedis(await freePort(), [...REPLICATION_ARGS, '--replicaof', '127.0.0.1', String(first.port)]);
    await second.start();
    sentinels = new OwnSentinels(sentinelBinary!, [await freePort(), await freePort(), await freePort()], MASTER_NAME);
    await sentinels.start(first.port);
    if (!(await sentinels.waitUntilWatching(1, 30_000))) throw new Error('the Sentinels did not see the replica and each other within 30 s');

    system = await startSystem({ name: 'redis-sentinel-failover', redisUrl: sentinels.url });
    const image = await makeImage({ width: 320, height: 240 });
    system.origin.route('/slow.jpg', async (_req, res) => {
      await sleep(ORIGIN_DELAY_MS);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length });
      res.end(image);
    });
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
    await sentinels?.stop();
    await first?.stop();
    await second?.stop();
  });

  /** Batch progress polled to the end; a 503 (Redis unreachable) is only allowed while the clients reconnect. */
  async function progressOnceReconnected(batchId: string): Promise<BatchProgress> {
    const giveUpAt = Date.now() + 60_000;
    for (;;) {
      const response = await system.request(`/fire_and_forget/${batchId}`);
      const body: unknown = await response.json();
      if (response.status === 200) {
        const progress = batchProgressSchema.parse(body);
        if (progress.complete || Date.now() > giveUpAt) return progress;
      } else {
        expect({ status: response.status, body }).toMatchObject({ status: 503, body: { error: 'unavailable' } });
        if (Date.now() > giveUpAt) throw new Error('batch progress still answered 503 a minute after the failover');
      }
      await sleep(250);
    }
  }

  /** The URLs of `urls` whose original is still not in storage after `timeoutMs` (only_send_if_local answers 200 once it is). */
  async function notStoredWithin(urls: string[], timeoutMs: number): Promise<string[]> {
    const giveUpAt = Date.now() + timeoutMs;
    let missing = urls;
    for (;;) {
      const statuses = await Promise.all(
        missing.map(async (url) => {
          const response = await system.request(`/get_image?url=${encodeURIComponent(url)}&only_send_if_local=true`);
          await bodyOf(response);
          return response.status;
        }),
      );
      missing = missing.filter((_url, i) => statuses[i] !== 200);
      if (missing.length === 0 || Date.now() > giveUpAt) return missing;
      await sleep(250);
    }
  }

  /** Queues a prefetch batch and two get_image misses, switches the primary with `failover`, and checks that nothing was lost. */
  async function queueWorkThen(round: string, failover: () => Promise<void>): Promise<{ oldPrimary: number; newPrimary: number }> {
    const oldPrimary = (await sentinels.primaryPort())!;
    const urls = Array.from({ length: 12 }, (_, i) => system.origin.url(`/slow.jpg?round=${round}&n=${i}`));
    const batchId = await submitBatch(system.server.url, urls);
    const inFlight = [0, 1].map((i) => track(system.getImage(`/slow.jpg?round=${round}&miss=${i}`, { resize_width: '100' })));
    // Switch while the workers are busy with this batch.
    const started = Date.now();
    while (system.origin.hits('/slow.jpg') === 0 && Date.now() - started < 10_000) await sleep(20);

    await failover();
    const switchedBy = Date.now() + 30_000;
    let newPrimary = await sentinels.primaryPort();
    while ((newPrimary === oldPrimary || newPrimary === null) && Date.now() < switchedBy) {
      await sleep(100);
      newPrimary = await sentinels.primaryPort();
    }
    expect(newPrimary).not.toBe(oldPrimary);
    expect(serverByPort().has(newPrimary!)).toBe(true);

    // Requests that were waiting when the primary changed get an answer (the image, or a 503 while reconnecting).
    for (const request of inFlight) expect([200, 503]).toContain((await request.done).status);

    const progress = await progressOnceReconnected(batchId);
    expect(progress).toMatchObject({ accepted: 12, failed: {}, pending: 0, complete: true });
    // A job whose completion the switch lost runs again; its end is still counted once.
    expect(progress.done).toBe(12);
    expect(await notStoredWithin(urls, 60_000)).toEqual([]);

    // A miss after the failover is fetched, rendered and served: queue, worker and outcome notice all on the new primary.
    const after = system.origin.url(`/slow.jpg?round=${round}&after=1`);
    let status = 0;
    const giveUpAt = Date.now() + 30_000;
    while (status !== 200 && Date.now() < giveUpAt) {
      const response = await system.request(`/get_image?url=${encodeURIComponent(after)}&resize_width=90`);
      status = response.status;
      await bodyOf(response);
      if (status !== 200) await sleep(250);
    }
    expect(status).toBe(200);
    expect((await system.request('/readyz')).status).toBe(200);
    return { oldPrimary, newPrimary: newPrimary! };
  }

  it('survives a planned switchover (SENTINEL FAILOVER): clients move to the new primary and every queued job completes', async () => {
    const { oldPrimary, newPrimary } = await queueWorkThen('switchover', () => sentinels.failover());
    expect(oldPrimary).toBe(first.port);
    expect(newPrimary).toBe(second.port);
    // The demoted primary keeps no client of the cloud: Sentinel disconnects them and they ask again.
    expect(await cloudClientsOn(newPrimary)).toBeGreaterThan(0);
    expect(await cloudClientsOn(oldPrimary)).toBe(0);
  }, 120_000);

  it('survives a crash of the primary (SIGKILL): the replica is promoted and every queued job completes', async () => {
    // The demoted primary must be a synced replica again before the current one can fail over to it.
    if (!(await sentinels.waitUntilWatching(1, 30_000))) throw new Error('the old primary did not become a healthy replica within 30 s');
    const { oldPrimary, newPrimary } = await queueWorkThen('crash', () => serverByPort().get(second.port)!.stop());
    expect(oldPrimary).toBe(second.port);
    expect(newPrimary).toBe(first.port);
    expect(await cloudClientsOn(newPrimary)).toBeGreaterThan(0);
  }, 120_000);

  it('stops listening to the Sentinels when a connection is closed with QUIT, as BullMQ closes the ones it duplicates', async () => {
    const before = await sentinels.subscribers();
    const client = createRedisClient(sentinels.url, { maxRetriesPerRequest: null });
    expect(await client.ping()).toBe('PONG');
    expect(await waitUntil(async () => (await sentinels.subscribers()) === before + 1, 10_000)).toBe(true);
    await client.quit();
    expect(await waitUntil(async () => (await sentinels.subscribers()) === before, 10_000)).toBe(true);
  }, 30_000);
});

/** Connections of the cloud (ioredis names them; BullMQ's carry the queue prefix) on the Redis at `port`. */
async function cloudClientsOn(port: number): Promise<number> {
  const redis = new IORedis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  try {
    const list = (await redis.client('LIST')) as string;
    return list.split('\n').filter((line) => /\bname=\S*(image-cloud|redis-sentinel-failover)/.test(line)).length;
  } finally {
    redis.disconnect();
  }
}
