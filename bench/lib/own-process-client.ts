import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createRedisClient } from '@image-cloud/redis-address';
import { TEST_REDIS_URL } from '@image-cloud/testing';
import { keepAliveGetter, runLoad } from './load';

/**
 * The plain node:http client (kept-alive sockets, `cap` downloads in flight per domain) run in a
 * process of its own, a fork of the benchmark's script, so that each request and answer crosses a
 * process boundary as a cluster's downloads do. The benchmark must route the fork, see
 * isOwnProcessClient.
 */

const ENV = 'BENCH_OWN_PROCESS_CLIENT';

export interface DomainDownloads {
  urls: string[];
  cap: number;
  /** Round trips to Redis (a script, as a slot hand-over is) after each download, before the slot's next one. @defaultValue 0 */
  redisRoundTrips?: number;
}

/** True in the forked client: it must call serveOwnProcessDownloads() instead of the benchmark. */
export function isOwnProcessClient(): boolean {
  return process.env[ENV] !== undefined;
}

/** Downloads/s per domain, all domains at once, in a forked copy of this script. */
export async function downloadInOwnProcess(domains: DomainDownloads[]): Promise<number[]> {
  const child = fork(process.argv[1]!, [], { env: { ...process.env, [ENV]: '1' } });
  const answer = once(child, 'message') as Promise<[number[]]>;
  child.send(domains);
  const [perSecond] = await answer;
  await once(child, 'exit');
  return perSecond;
}

/** The forked client's body. */
export function serveOwnProcessDownloads(): void {
  process.once('message', async (domains: DomainDownloads[]) => {
    const redis = domains.some((domain) => (domain.redisRoundTrips ?? 0) > 0) ? createRedisClient(TEST_REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
    const results = await Promise.all(
      domains.map(({ urls, cap, redisRoundTrips = 0 }) => {
        const download = keepAliveGetter(cap);
        return runLoad(urls, cap, undefined, undefined, async (url) => {
          const status = await download(url);
          for (let i = 0; i < redisRoundTrips; i++) await redis!.eval("return redis.call('TIME')", 0);
          return status;
        });
      }),
    );
    redis?.disconnect();
    process.send!(results.map((result) => result.get('all')!.perSecond), () => process.exit(0));
  });
}
