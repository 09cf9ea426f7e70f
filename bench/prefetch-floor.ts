import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { createRedisClient } from '@image-cloud/redis-address';
import { TEST_REDIS_URL, startOriginServer } from '@image-cloud/testing';
import { keepAliveGetter, runLoad } from './lib/load';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * The floor under `prefetch-throughput` on this machine: what the leanest possible downloader
 * outside the origins' process reaches under one domain's cap (2 slots, 20 ms answers), with the
 * Redis round trips a cluster needs between two downloads on a slot (the hand-over asks Redis
 * whether a sync waiter elsewhere is owed the slot) and with the cores partly busy, as the
 * cluster's own processes keep them (55–65 % during a prefetch batch). The downloader is a plain
 * node:http client with kept-alive sockets in a process of its own; the origin runs in this
 * process, as in `prefetch-throughput`; one "burner" process per core keeps its core busy in 1 ms
 * chunks for the given share of the time. If even this downloader stays below a target under the
 * cluster's conditions, no design of the cluster's download loop can meet it on this machine.
 * Usage: npm run bench -- prefetch-floor [downloads=1000]
 */

const CAP = 2;
const ANSWER_MS = 20;
const DOWNLOADER_ENV = 'BENCH_FLOOR_DOWNLOADER';
const BURNER_ENV = 'BENCH_FLOOR_BURN_SHARE';

interface DownloaderWork {
  urls: string[];
  cap: number;
  redisRoundTrips: number;
}

async function main(): Promise<void> {
  const downloads = Number(process.argv[2] ?? 1_000);
  const origin = await startOriginServer();
  const cores = availableParallelism();
  const ideal = (CAP * 1000) / ANSWER_MS;
  const cases = [
    { busyShare: 0, redisRoundTrips: 0 },
    { busyShare: 0, redisRoundTrips: 1 },
    { busyShare: 0, redisRoundTrips: 2 },
    { busyShare: 0.3, redisRoundTrips: 1 },
    { busyShare: 0.5, redisRoundTrips: 1 },
    { busyShare: 0.6, redisRoundTrips: 1 },
  ];
  const rows: Array<Array<string | number>> = [];
  try {
    for (const [index, { busyShare, redisRoundTrips }] of cases.entries()) {
      const burners = busyShare > 0 ? Array.from({ length: cores }, () => forkSelf({ [BURNER_ENV]: String(busyShare) })) : [];
      try {
        const urls = Array.from({ length: downloads }, (_, i) => origin.url(`/slow?ms=${ANSWER_MS}&case=${index}&n=${i}`));
        origin.resetHits();
        const perSecond = await runDownloader({ urls, cap: CAP, redisRoundTrips });
        rows.push([`${Math.round(busyShare * 100)} %`, redisRoundTrips, perSecond, perSecond / ideal, origin.openMs() / origin.hits(), origin.maxConcurrent()]);
      } finally {
        await Promise.all(burners.map(stopChild));
      }
    }
  } finally {
    await origin.close();
  }
  printTable(
    `One domain, cap ${CAP}, ${ANSWER_MS} ms answers, ${downloads} downloads by a plain node:http client in its own process; ideal ${ideal}/s; ${cores} cores`,
    ['cores kept busy by other processes', 'Redis round trips between two downloads on a slot', 'downloads/s', 'vs ideal', 'open ms at the origin', 'max concurrent seen'],
    rows,
  );
  console.log(
    'The cluster needs at least one Redis round trip per hand-over, and its processes keep the cores 55–65 % busy during prefetch-throughput: compare its "vs ideal" with the rows at 1 round trip.',
  );
}

function forkSelf(env: Record<string, string>): ChildProcess {
  return fork(process.argv[1]!, [], { env: { ...process.env, ...env } });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function runDownloader(work: DownloaderWork): Promise<number> {
  const child = forkSelf({ [DOWNLOADER_ENV]: '1' });
  const answer = once(child, 'message') as Promise<[number]>;
  child.send(work);
  const [perSecond] = await answer;
  await once(child, 'exit');
  return perSecond;
}

/** The downloader's body: `cap` downloads in flight, each followed by `redisRoundTrips` round trips to Redis before the slot's next download. */
function serveDownloaderWork(): void {
  process.once('message', async ({ urls, cap, redisRoundTrips }: DownloaderWork) => {
    const redis = createRedisClient(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const download = keepAliveGetter(cap);
    const result = await runLoad(urls, cap, undefined, undefined, async (url) => {
      const status = await download(url);
      // A script, as the hand-over is: Redis's clock, like hand-over-slot's first call.
      for (let i = 0; i < redisRoundTrips; i++) await redis.eval("return redis.call('TIME')", 0);
      return status;
    });
    redis.disconnect();
    process.send!(result.get('all')!.perSecond, () => process.exit(0));
  });
}

/** A burner's body: busy in 1 ms chunks for `share` of the time, until killed. */
function burnCore(share: number): void {
  const chunkMs = 1;
  const burn = () => {
    const started = performance.now();
    while (performance.now() - started < chunkMs);
    setTimeout(burn, (chunkMs * (1 - share)) / share);
  };
  burn();
}

if (process.env[DOWNLOADER_ENV]) serveDownloaderWork();
else if (process.env[BURNER_ENV]) burnCore(Number(process.env[BURNER_ENV]));
else runBenchmark(main);
