import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { startOriginServer, stopProcesses } from '@image-cloud/testing';
import { downloadInOwnProcess, isOwnProcessClient, serveOwnProcessDownloads } from './lib/own-process-client';
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
const BURNER_ENV = 'BENCH_FLOOR_BURN_SHARE';

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
        const [perSecond] = await downloadInOwnProcess([{ urls, cap: CAP, redisRoundTrips }]);
        rows.push([`${Math.round(busyShare * 100)} %`, redisRoundTrips, perSecond, perSecond / ideal, origin.openMs() / origin.hits(), origin.maxConcurrent()]);
      } finally {
        await stopProcesses(burners, 'SIGKILL');
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

if (isOwnProcessClient()) serveOwnProcessDownloads();
else if (process.env[BURNER_ENV]) burnCore(Number(process.env[BURNER_ENV]));
else runBenchmark(main);
