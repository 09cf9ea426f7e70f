import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { batchProgressSchema, batchReceiptSchema } from '@image-cloud/contracts';
import { makeImage } from '@image-cloud/imaging/testing';
import { S3RVER_CREDENTIALS, type TestS3Server, startTestS3Server } from '@image-cloud/s3-storage/testing';
import { DIST_DIR, type OriginServer, TEST_REDIS_URL, deleteKeysWithPrefix, freePort, startOriginServer, stopProcesses, uniquePrefix, waitForHttp } from '@image-cloud/testing';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Two hosts, one cloud: prefetch throughput (URLs/s, each a download, a header probe and an S3
 * upload) of one `npm start` host against two on the same machine, sharing one Redis prefix and
 * one bucket (s3rver on loopback), the hosts on 127.0.0.2 and 127.0.0.3. Same run: one host, two
 * hosts, one host again; the baseline is the mean of the one-host runs. Every host runs what
 * `npm start` runs here (one normal-lane worker per core, a big-lane worker), so two hosts share the
 * same cores: the figure shows that the second host's workers take their part of the batch, not
 * that throughput doubles (it cannot, on one machine that is already CPU-bound).
 * Usage: npm run bench -- two-host-prefetch [urls=600]
 */

interface Host {
  url: string;
  stop(): Promise<void>;
}

async function startHost(name: string, address: string, prefix: string, s3: TestS3Server): Promise<Host> {
  const dataDir = await mkdtemp(join(tmpdir(), `bench-${name}-`));
  const configPath = join(dataDir, 'config.json');
  await writeFile(configPath, JSON.stringify({ allowPrivateOrigins: ['127.0.0.0/8'], domains: { default: 1000 } }));
  const port = await freePort();
  const launcher: ChildProcess = spawn(process.execPath, [join(DIST_DIR, 'launcher', 'main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: address,
      REDIS_URL: TEST_REDIS_URL,
      DATA_DIR: dataDir,
      CONFIG: configPath,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      STORAGE_KIND: 's3',
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  launcher.stdout!.on('data', (chunk) => (output += chunk));
  launcher.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://${address}:${port}`;
  const stop = async () => {
    await stopProcesses([launcher]);
    await rm(dataDir, { recursive: true, force: true });
  };
  await waitForHttp(`${url}/readyz`, 60_000);
  // npm start: one normal-lane worker per core and one big-lane worker.
  const workers = availableParallelism() + 1;
  const giveUpAt = Date.now() + 60_000;
  while ((output.match(/"msg":"image worker started"/g)?.length ?? 0) < workers) {
    if (Date.now() > giveUpAt) {
      await stop();
      throw new Error(`${name}: only some workers started:\n${output.slice(-2000)}`);
    }
    await sleep(100);
  }
  return { url, stop };
}

/** Fetch jobs this host's workers ended ok, from its /metrics (the launcher gathers its workers'). */
async function fetchJobsDone(host: Host): Promise<number> {
  const text = await (await fetch(`${host.url}/metrics`)).text();
  let total = 0;
  for (const [, labels, value] of text.matchAll(/^image_cloud_jobs_total\{([^}]*)\} (\S+)$/gm)) {
    if (labels!.includes('stage="fetch"') && labels!.includes('outcome="ok"') && labels!.includes('role="worker-')) total += Number(value);
  }
  return total;
}

async function prefetchRun(origin: OriginServer, run: string, count: number, hosts: Host[]) {
  const urls = Array.from({ length: count }, (_, i) => origin.url(`/bytes/photo.jpg?run=${run}&n=${i}`));
  const before = await Promise.all(hosts.map(fetchJobsDone));
  const started = performance.now();
  const response = await fetch(`${hosts[0]!.url}/fire_and_forget`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls }) });
  if (response.status !== 202) throw new Error(`fire_and_forget answered ${response.status}: ${await response.text()}`);
  const { batchId } = batchReceiptSchema.parse(await response.json());
  for (;;) {
    await sleep(100);
    const progress = batchProgressSchema.parse(await (await fetch(`${hosts[0]!.url}/fire_and_forget/${batchId}`)).json());
    if (progress.complete) {
      const seconds = (performance.now() - started) / 1000;
      const after = await Promise.all(hosts.map(fetchJobsDone));
      return { urlsPerSecond: count / seconds, done: progress.done, failed: count - progress.done, byHost: after.map((n, i) => n - before[i]!) };
    }
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 600);
  const s3 = await startTestS3Server('two-host-prefetch');
  const origin = await startOriginServer();
  origin.serveBytes('photo.jpg', await makeImage({ width: 1600, height: 1200 }), 'image/jpeg');
  const prefix = uniquePrefix('bench-two-hosts');
  const hosts: Host[] = [];
  try {
    hosts.push(await startHost('host-a', '127.0.0.2', prefix, s3));
    const oneBefore = await prefetchRun(origin, 'one-before', count, hosts);
    hosts.push(await startHost('host-b', '127.0.0.3', prefix, s3));
    const two = await prefetchRun(origin, 'two', count, hosts);
    await hosts.pop()!.stop();
    const oneAfter = await prefetchRun(origin, 'one-after', count, hosts);
    const baseline = (oneBefore.urlsPerSecond + oneAfter.urlsPerSecond) / 2;
    const share = (m: typeof two, i: number) => (m.byHost[i] === undefined ? '' : `${Math.round((100 * m.byHost[i]!) / Math.max(1, m.byHost.reduce((a, b) => a + b, 0)))}%`);
    const row = (name: string, m: typeof two) => [name, m.urlsPerSecond, m.failed, share(m, 0), share(m, 1), m.urlsPerSecond / baseline];
    printTable(
      `Prefetch of ${count} URLs (download + probe + S3 upload each, submitted to host A), ${availableParallelism()} cores shared by every host; baseline = mean of the one-host runs`,
      ['run', 'URLs/s', 'failed', 'jobs on host A', 'jobs on host B', 'ratio vs one host'],
      [row('one host (before)', oneBefore), row('two hosts, same machine', two), row('one host (after)', oneAfter)],
    );
    console.log(`ratio (two hosts / one host) = ${(two.urlsPerSecond / baseline).toFixed(2)}  (same cores: shows the work spreading, not doubling)`);
  } finally {
    for (const host of hosts) await host.stop();
    await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
    await origin.close();
    await s3.close();
  }
}

runBenchmark(main);
