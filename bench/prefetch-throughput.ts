import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchProgress, batchProgressSchema, batchReceiptSchema } from '@image-cloud/contracts';
import { type OriginServer, TEST_REDIS_URL, startOriginServer } from '@image-cloud/testing';
import { startCluster } from './lib/cluster';
import { cpuByRole } from './lib/cpu-accounting';
import { redisCommandsDuring } from './lib/redis-commands';
import { keepAliveGetter, runLoad } from './lib/load';
import { downloadInOwnProcess, isOwnProcessClient, serveOwnProcessDownloads } from './lib/own-process-client';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Prefetch throughput under per-domain caps (issue 4). Three local origins are three domains, each
 * answering after a fixed delay. A fire_and_forget batch mixed across them runs through the
 * cluster (built bundles: one server, one worker per core with 8 prefetch slots each, more than the
 * caps allow together, so the caps are the limit). Per domain it reports the downloads/s achieved
 * against baselines: the cap-limited ideal (cap ÷ answer time) and, measured in the same run, a
 * plain node:http client that keeps exactly `cap` kept-alive downloads open at once, run twice: in
 * the origins' own process (no download crosses a process boundary) and in a process of its own
 * (each request and answer crosses one, as the cluster's downloads do). Also the most downloads each
 * origin ever saw at once, which must not exceed its cap, and where the gap to the ideal comes from:
 * the time each request was open at the origin (over the answer time when the origins' process
 * waits for a core) and the share of the cap's slot time in which a request was open at all (below
 * 1 while a freed slot waits for the cluster's next download).
 * Usage: npm run bench -- prefetch-throughput [urlsPerDomain=2000]
 * Knobs: BENCH_ORIGIN_MS_SCALE (see ANSWER_SCALE); BENCH_PREFETCH_CONCURRENCY (prefetch slots per worker process, default 8); BENCH_NORMAL_WORKERS (worker processes, default one per core); BENCH_UNCAPPED=1
 * lifts the caps (every domain 100), which measures the fetch stage's own cost per URL.
 */

interface Domain {
  name: string;
  host: string;
  cap: number;
  answerMs: number;
  origin?: OriginServer;
}

/** BENCH_ORIGIN_MS_SCALE multiplies the answer times (e.g. 5: 100, 250 and 150 ms, nearer real shops). */
const ANSWER_SCALE = Number(process.env['BENCH_ORIGIN_MS_SCALE'] ?? 1);

const DOMAINS: Domain[] = [
  { name: 'a', host: '127.0.0.2', cap: 2, answerMs: 20 * ANSWER_SCALE },
  { name: 'b', host: '127.0.0.3', cap: 5, answerMs: 50 * ANSWER_SCALE },
  { name: 'default', host: '127.0.0.1', cap: 3, answerMs: 30 * ANSWER_SCALE },
];

async function main(): Promise<void> {
  const perDomain = Number(process.argv[2] ?? 2_000);
  for (const domain of DOMAINS) domain.origin = await startOriginServer({ host: domain.host });
  const origins = DOMAINS.map((domain) => domain.origin!);
  const urlsOf = (domain: Domain, run: string) => Array.from({ length: perDomain }, (_, i) => domain.origin!.url(`/slow?ms=${domain.answerMs}&run=${run}&n=${i}`));

  // Baseline: a plain node:http client with exactly `cap` kept-alive downloads in flight per domain, all domains at once.
  const direct = await Promise.all(
    DOMAINS.map((domain) => runLoad(urlsOf(domain, 'direct'), domain.cap, undefined, undefined, keepAliveGetter(domain.cap)).then((result) => result.get('all')!)),
  );
  const directOpenMs = DOMAINS.map((domain) => domain.origin!.openMs() / domain.origin!.hits());
  for (const origin of origins) origin.resetHits();
  const ownProcess = await downloadInOwnProcess(DOMAINS.map((domain) => ({ urls: urlsOf(domain, 'own-process'), cap: domain.cap })));
  for (const origin of origins) origin.resetHits();

  const cluster = await startCluster({
    name: 'prefetch',
    config: {
      allowPrivateOrigins: ['127.0.0.0/8'],
      domains: process.env['BENCH_UNCAPPED'] ? { default: 100 } : { default: 3, '127.0.0.2': 2, '127.0.0.3': 5 },
      fetch: { prefetchConcurrency: Number(process.env['BENCH_PREFETCH_CONCURRENCY'] ?? 8) },
    },
    bigWorkers: 0,
    ...(process.env['BENCH_NORMAL_WORKERS'] ? { normalWorkers: Number(process.env['BENCH_NORMAL_WORKERS']) } : {}),
  });
  try {
    const mixed: string[] = [];
    const lists = DOMAINS.map((domain) => urlsOf(domain, 'cluster'));
    for (let i = 0; i < perDomain; i++) for (const list of lists) mixed.push(list[i]!);
    const started = performance.now();
    const response = await fetch(`${cluster.url}/fire_and_forget`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls: mixed }) });
    if (response.status !== 202) throw new Error(`fire_and_forget answered ${response.status}: ${await response.text()}`);
    const { batchId } = batchReceiptSchema.parse(await response.json());

    // When each origin served its last URL: that domain's share of the batch is done.
    const finishedAt = new Map<Domain, number>();
    const openMsAtFinish = new Map<Domain, number>();
    const { result: measured, commands } = await redisCommandsDuring(TEST_REDIS_URL, () => cpuByRole(async () => {
      let last: BatchProgress;
      do {
        await sleep(50);
        for (const domain of DOMAINS) {
          if (finishedAt.has(domain) || domain.origin!.hits() < perDomain) continue;
          finishedAt.set(domain, performance.now());
          openMsAtFinish.set(domain, domain.origin!.openMs());
        }
        last = batchProgressSchema.parse(await (await fetch(`${cluster.url}/fire_and_forget/${batchId}`)).json());
      } while (!last.complete);
      return last;
    }));
    const { result: progress, cpu } = measured;
    const totalSeconds = (performance.now() - started) / 1000;

    const rows = DOMAINS.map((domain, i) => {
      const seconds = ((finishedAt.get(domain) ?? performance.now()) - started) / 1000;
      const achieved = perDomain / seconds;
      const ideal = (domain.cap * 1000) / domain.answerMs;
      const openMs = openMsAtFinish.get(domain) ?? domain.origin!.openMs();
      return [
        `${domain.name} (${domain.host})`,
        domain.cap,
        domain.answerMs,
        perDomain,
        ideal,
        direct[i]!.perSecond,
        achieved,
        achieved / ideal,
        achieved / direct[i]!.perSecond,
        ownProcess[i]!,
        achieved / ownProcess[i]!,
        directOpenMs[i]!,
        openMs / perDomain,
        openMs / (domain.cap * seconds * 1000),
        domain.origin!.maxConcurrent(),
      ];
    });
    const idealTotal = DOMAINS.reduce((sum, domain) => sum + (domain.cap * 1000) / domain.answerMs, 0);
    const directTotal = direct.reduce((sum, result) => sum + result.perSecond, 0);
    const ownProcessTotal = ownProcess.reduce((sum, perSecond) => sum + perSecond, 0);
    const achievedTotal = (perDomain * DOMAINS.length) / totalSeconds;
    rows.push(['all', '', '', perDomain * DOMAINS.length, idealTotal, directTotal, achievedTotal, achievedTotal / idealTotal, achievedTotal / directTotal, ownProcessTotal, achievedTotal / ownProcessTotal, '', '', '', '']);
    printTable(
      `Prefetch of ${perDomain * DOMAINS.length} URLs mixed across three domains through the cluster (${progress.done} done, failed ${JSON.stringify(progress.failed)}); downloads/s per domain until its last download`,
      ['domain', 'cap', 'origin ms', 'URLs', 'ideal /s', 'direct client /s', 'cluster /s', 'vs ideal', 'vs direct', 'own-process client /s', 'vs own-process', 'open ms, direct', 'open ms, cluster', 'slots open, cluster', 'max concurrent seen'],
      rows,
    );
    console.log(
      'direct client: the plain client in the origins\' own process; own-process client: the same client in a process of its own, whose requests and answers cross a process boundary as the cluster\'s do.',
    );
    console.log(
      'open ms: how long a request was open as the origin saw it (arrival to close; the answer time plus the origin process\'s own delays). slots open: the share of cap × time a request was open at the origin; vs ideal ≈ slots open × origin ms ÷ open ms.',
    );
    const coreSeconds = totalSeconds * availableParallelism();
    printTable(
      `Where the CPU went during the batch (${coreSeconds.toFixed(1)} core-seconds available; the origins run in the load generator)`,
      ['process role', 'CPU s', 'share of available', 'CPU ms per URL'],
      [...cpu]
        .sort((x, y) => y[1] - x[1])
        .map(([role, seconds]) => [role, seconds, `${Math.round((100 * seconds) / coreSeconds)}%`, (1000 * seconds) / (perDomain * DOMAINS.length)]),
    );
    const calls = [...commands].sort((x, y) => y[1] - x[1]);
    const urls = perDomain * DOMAINS.length;
    printTable(
      `Redis commands per URL during the batch (${(calls.reduce((sum, [, n]) => sum + n, 0) / urls).toFixed(1)} in all, commands inside Lua scripts included; the progress polls of this benchmark too)`,
      ['command', 'per URL'],
      calls.slice(0, 10).map(([name, n]): Array<string | number> => [name, n / urls]),
    );
    const over = DOMAINS.filter((domain) => domain.origin!.maxConcurrent() > domain.cap);
    console.log(over.length === 0 ? 'no origin ever saw more parallel downloads than its cap' : `CAP EXCEEDED at ${over.map((d) => d.name).join(', ')}`);
  } finally {
    await cluster.stop();
    await Promise.all(origins.map((origin) => origin.close()));
  }
}

if (isOwnProcessClient()) serveOwnProcessDownloads();
else runBenchmark(main);
