import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchProgress, batchProgressSchema, batchReceiptSchema } from '@image-cloud/contracts';
import { makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { type EmbeddedRedis, startEmbeddedRedis } from '@image-cloud/local-cluster';
import { DIST_DIR, type OriginServer, freePort, serveSlowDrip, startOriginServer, stopProcesses, waitForHttp } from '@image-cloud/testing';
import IORedis from 'ioredis';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Soak: `npm start` (the built launcher, its server and workers) under a steady mixed load for
 * SOAK_SECONDS (default 600), against a redis-server of its own (append-only file, so a restart keeps
 * the queue). Three loopback origins: normal photos (127.0.0.1), a slow drip that never finishes
 * (127.0.0.2, ends in origin_timeout) and a failing one (127.0.0.3: 500, 404, connection reset).
 * Clients ask get_image for hits, misses (new sizes, new originals), failing and slow URLs, and
 * submit fire_and_forget batches. A normal-lane worker is SIGKILLed every 30 s (the launcher
 * replaces it) and Redis is restarted once, half-way. Reports answers by status and error code,
 * prefetches submitted vs completed (they must be equal: every prefetch ends, once), and worker RSS
 * and Redis used_memory at the start and the end (the start is the baseline of the ratios).
 * Usage: SOAK_SECONDS=600 npm run bench -- soak [clients=6]
 */

const KILL_EVERY_MS = 30_000;
const PREFETCH_EVERY_MS = 5_000;
const PREFETCH_BATCH_URLS = 12;
/** How long the prefetches still pending at the end may take to finish before the run is failed. */
const PREFETCH_DRAIN_MS = 180_000;
/** No answer within this is counted as a client timeout (the server's own wait limit is 70 s). */
const CLIENT_TIMEOUT_MS = 90_000;
const NORMAL_WORKERS = 2;

type Kind = 'hit' | 'miss-size' | 'miss-original' | 'failing' | 'slow';
/** Shares of the closed-loop clients' get_image load, out of 100. */
const MIX: Array<[Kind, number]> = [
  ['hit', 50],
  ['miss-size', 20],
  ['miss-original', 15],
  ['failing', 15],
];
/**
 * Requests kept open on the slow domain, by clients of their own: one more than its download slots,
 * so one always waits for a slot. (Drawn from the mix, slow URLs would soon hold every closed-loop
 * client, since each takes the whole download timeout.)
 */
const SLOW_SLOTS = 2;
const SLOW_CLIENTS = SLOW_SLOTS + 1;
const KINDS: Kind[] = [...MIX.map(([kind]) => kind), 'slow'];

interface Origins {
  normal: OriginServer;
  slow: OriginServer;
  failing: OriginServer;
  dripPath: string;
}

async function startOrigins(): Promise<Origins> {
  const normal = await startOriginServer();
  normal.serveBytes('photo-a.jpg', await makeImage({ width: 1600, height: 1200 }), 'image/jpeg');
  normal.serveBytes('photo-b.jpg', await makeNoiseImage(1000, 800), 'image/jpeg');
  normal.serveBytes('photo-c.png', await makeImage({ width: 900, height: 900, format: 'png' }), 'image/png');
  const slow = await startOriginServer({ host: '127.0.0.2' });
  const drip = serveSlowDrip(slow, { everyMs: 300 });
  const failing = await startOriginServer({ host: '127.0.0.3' });
  failing.route('/reset', (req) => {
    req.socket.destroy();
  });
  return { normal, slow, failing, dripPath: drip.path };
}

/** The origin URL a request of `kind` asks for; `n` makes misses distinct. */
function originUrlFor(kind: Kind, n: number, origins: Origins): { url: string; width: number } {
  const photos = ['photo-a.jpg', 'photo-b.jpg', 'photo-c.png'];
  const photo = photos[n % photos.length]!;
  switch (kind) {
    case 'hit':
      return { url: origins.normal.url(`/bytes/${photo}`), width: 200 };
    case 'miss-size':
      return { url: origins.normal.url(`/bytes/${photo}`), width: 64 + (n % 800) };
    case 'miss-original':
      // A new query string is a new original: downloaded, then rendered.
      return { url: origins.normal.url(`/bytes/${photo}?n=${n}`), width: 320 };
    case 'failing':
      return { url: origins.failing.url(['/status/500', '/status/404', '/reset'][n % 3]! + `?n=${n}`), width: 200 };
    case 'slow':
      return { url: origins.slow.url(`${origins.dripPath}?n=${n}`), width: 200 };
  }
}

function pickKind(random: number): Kind {
  let left = random * 100;
  for (const [kind, share] of MIX) {
    if (left < share) return kind;
    left -= share;
  }
  return 'hit';
}

const TIMELINE_BUCKET_SECONDS = 10;

/** Answers by kind and status, error codes by status, and answers by time (when they ended). */
class Tally {
  readonly byKind = new Map<Kind, Map<string, number>>();
  readonly codes = new Map<string, number>();
  readonly timeline = new Map<number, Map<string, number>>();
  startedAt = Date.now();
  add(kind: Kind, status: string, code?: string): void {
    const bucket = Math.floor((Date.now() - this.startedAt) / 1000 / TIMELINE_BUCKET_SECONDS);
    const slot = this.timeline.get(bucket) ?? new Map<string, number>();
    slot.set(status, (slot.get(status) ?? 0) + 1);
    this.timeline.set(bucket, slot);
    const counts = this.byKind.get(kind) ?? new Map<string, number>();
    counts.set(status, (counts.get(status) ?? 0) + 1);
    this.byKind.set(kind, counts);
    if (code) this.codes.set(`${status} ${code}`, (this.codes.get(`${status} ${code}`) ?? 0) + 1);
  }
}

async function getImage(base: string, kind: Kind, n: number, origins: Origins, tally: Tally): Promise<void> {
  const { url, width } = originUrlFor(kind, n, origins);
  try {
    const response = await fetch(`${base}/get_image?${new URLSearchParams({ url, resize_width: String(width) })}`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    const body = Buffer.from(await response.arrayBuffer());
    let code: string | undefined;
    if (response.status !== 200 && response.status !== 304) {
      try {
        code = (JSON.parse(body.toString()) as { error?: string }).error ?? 'no code';
      } catch {
        code = 'not JSON';
      }
    }
    tally.add(kind, String(response.status), code);
  } catch (error) {
    const name = (error as Error).name;
    tally.add(kind, name === 'TimeoutError' ? 'client timeout' : 'no answer', (error as Error & { cause?: { code?: string } }).cause?.code ?? name);
  }
}

/** Prefetch batches submitted during the run, and what the cloud says of them. */
class Prefetches {
  readonly batchIds: string[] = [];
  submitted = 0;
  refusedBatches = 0;

  async submit(base: string, urls: string[]): Promise<void> {
    try {
      const response = await fetch(`${base}/fire_and_forget`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls }) });
      if (response.status !== 202) {
        // Refused as a whole (Redis away, overloaded): nothing was submitted.
        this.refusedBatches++;
        await response.arrayBuffer();
        return;
      }
      const receipt = batchReceiptSchema.parse(await response.json());
      this.batchIds.push(receipt.batchId);
      this.submitted += receipt.accepted;
    } catch {
      this.refusedBatches++;
    }
  }

  async progress(base: string): Promise<BatchProgress[]> {
    return Promise.all(
      this.batchIds.map(async (batchId) => batchProgressSchema.parse(await (await fetch(`${base}/fire_and_forget/${batchId}`)).json())),
    );
  }
}

/** Pids of the launcher's image workers, by lane, from /proc. */
function workerPids(launcherPid: number): { normal: number[]; big: number[] } {
  const children = readdirSync(`/proc/${launcherPid}/task`).flatMap((task) =>
    readFileSync(`/proc/${launcherPid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
  const normal: number[] = [];
  const big: number[] = [];
  for (const pid of children) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('image-worker')) continue;
      const lane = readFileSync(`/proc/${pid}/environ`, 'utf8').includes('WORKER_LANE=big') ? big : normal;
      lane.push(pid);
    } catch {
      // ended while we looked
    }
  }
  return { normal, big };
}

/** Resident memory of a process (and, summed, of its children: the render children), in MB. */
function rssMb(pid: number): { own: number; children: number; childCount: number } {
  const read = (p: number) => {
    try {
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  let children = 0;
  let childCount = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        children += read(Number(child));
        childCount++;
      }
    }
  } catch {
    // ended while we looked
  }
  return { own: read(pid), children, childCount };
}

/** Render children of this build's workers whose worker is gone (a SIGKILLed worker's must end with it). */
function orphanedRenderChildren(launcherPid: number): number {
  const { normal, big } = workerPids(launcherPid);
  const workers = new Set([...normal, ...big]);
  let orphans = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(join(DIST_DIR, 'image-worker', 'render-child.js'))) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!workers.has(parent)) orphans++;
    } catch {
      // ended while we looked
    }
  }
  return orphans;
}

interface MemorySample {
  workerRssMb: number[];
  renderChildrenRssMb: number;
  renderChildren: number;
  redisUsedMb: number;
}

async function sampleMemory(launcherPid: number, redisUrl: string): Promise<MemorySample> {
  const { normal, big } = workerPids(launcherPid);
  const samples = [...normal, ...big].map(rssMb);
  const redis = new IORedis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('memory');
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    return { workerRssMb: samples.map((s) => s.own), renderChildrenRssMb: samples.reduce((sum, s) => sum + s.children, 0), renderChildren: samples.reduce((sum, s) => sum + s.childCount, 0), redisUsedMb: used / 1024 / 1024 };
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const soakSeconds = Number(process.env['SOAK_SECONDS'] ?? 600);
  const clients = Number(process.argv[2] ?? 6);
  if (!(soakSeconds > 0) || !(clients > 0)) throw new Error('SOAK_SECONDS and clients must be positive numbers');
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-soak-'));
  const redisDir = await mkdtemp(join(tmpdir(), 'bench-soak-redis-'));
  const redisPort = await freePort();
  let redis: EmbeddedRedis = await startEmbeddedRedis({ port: redisPort, dataDir: redisDir });
  const origins = await startOrigins();
  const configPath = join(dataDir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      allowPrivateOrigins: ['127.0.0.0/8'],
      // The slow domain's drips end at the total download timeout.
      domains: { '127.0.0.2': SLOW_SLOTS, default: 8 },
      fetch: { totalTimeoutMs: 8_000 },
      worker: { processes: NORMAL_WORKERS, bigProcesses: 1 },
    }),
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let launcherLog = '';
  const launcher: ChildProcess = spawn(process.execPath, [join(DIST_DIR, 'launcher', 'main.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url, DATA_DIR: join(dataDir, 'data'), CONFIG: configPath, QUEUE_PREFIX: 'soak', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  launcher.stderr!.on('data', (chunk) => (launcherLog += chunk));

  const tally = new Tally();
  const prefetches = new Prefetches();
  const events: string[] = [];
  let killed = 0;
  try {
    await waitForHttp(`${base}/readyz`, 60_000);
    // Warm-up: the workers have announced themselves once a miss is served; the hits are cached.
    const warmUntil = Date.now() + 60_000;
    while ((await fetch(`${base}/get_image?${new URLSearchParams({ url: origins.normal.url('/bytes/photo-a.jpg'), resize_width: '200' })}`)).status !== 200) {
      if (Date.now() > warmUntil) throw new Error(`the cloud did not serve a first image:\n${launcherLog}`);
      await sleep(200);
    }
    for (let i = 0; i < 3; i++) await getImage(base, 'hit', i, origins, new Tally());
    const atStart = await sampleMemory(launcher.pid!, redis.url);

    const started = Date.now();
    tally.startedAt = started;
    const endsAt = started + soakSeconds * 1_000;
    const seconds = () => Math.round((Date.now() - started) / 1000);
    let n = 0;
    const client = async () => {
      while (Date.now() < endsAt) await getImage(base, pickKind(Math.random()), n++, origins, tally);
    };
    const slowClient = async () => {
      while (Date.now() < endsAt) await getImage(base, 'slow', n++, origins, tally);
    };
    const prefetcher = async () => {
      while (Date.now() < endsAt) {
        const urls = Array.from({ length: PREFETCH_BATCH_URLS }, (_, i) => {
          const kind: Kind = i % 4 === 3 ? 'failing' : 'miss-original';
          return originUrlFor(kind, n++, origins).url;
        });
        await prefetches.submit(base, urls);
        await sleep(PREFETCH_EVERY_MS);
      }
    };
    const killer = async () => {
      for (let next = started + KILL_EVERY_MS; next < endsAt; next += KILL_EVERY_MS) {
        await sleep(Math.max(0, next - Date.now()));
        const { normal } = workerPids(launcher.pid!);
        const victim = normal[killed % Math.max(1, normal.length)];
        if (victim === undefined) continue;
        process.kill(victim, 'SIGKILL');
        killed++;
        events.push(`${seconds()} s: SIGKILL normal-lane worker ${victim}`);
      }
    };
    const redisRestart = async () => {
      await sleep(soakSeconds * 500);
      events.push(`${seconds()} s: Redis stopped (SIGTERM)`);
      await redis.stop();
      await sleep(2_000);
      redis = await startEmbeddedRedis({ port: redisPort, dataDir: redisDir });
      events.push(`${seconds()} s: Redis answering again`);
    };
    await Promise.all([...Array.from({ length: clients }, client), ...Array.from({ length: SLOW_CLIENTS }, slowClient), prefetcher(), killer(), redisRestart()]);
    events.push(`${seconds()} s: load stopped`);

    // Every prefetch ends once, whatever happened to it: wait (bounded) for the last ones.
    const drainUntil = Date.now() + PREFETCH_DRAIN_MS;
    let progress = await prefetches.progress(base);
    while (progress.some((batch) => !batch.complete) && Date.now() < drainUntil) {
      await sleep(1_000);
      progress = await prefetches.progress(base);
    }
    events.push(`${seconds()} s: prefetches ${progress.every((batch) => batch.complete) ? 'all ended' : 'still pending at the bound'}`);
    const atEnd = await sampleMemory(launcher.pid!, redis.url);
    events.push(`${seconds()} s: ${orphanedRenderChildren(launcher.pid!)} render children left without their worker`);

    printResults({ soakSeconds, clients, tally, prefetches, progress, atStart, atEnd, killed, restarts: launcherLog.match(/restarting it in/g)?.length ?? 0 });
    console.log(events.join('\n'));
    const completed = sumCompleted(progress);
    if (completed !== prefetches.submitted) throw new Error(`prefetches submitted ${prefetches.submitted} but completed ${completed}`);
  } finally {
    await stopProcesses([launcher]);
    await redis.stop();
    for (const origin of [origins.normal, origins.slow, origins.failing]) await origin.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(redisDir, { recursive: true, force: true });
  }
}

function sumCompleted(progress: BatchProgress[]): number {
  return progress.reduce((sum, batch) => sum + batch.done + Object.values(batch.failed).reduce((a, b) => a + b, 0), 0);
}

function printResults(run: {
  soakSeconds: number;
  clients: number;
  tally: Tally;
  prefetches: Prefetches;
  progress: BatchProgress[];
  atStart: MemorySample;
  atEnd: MemorySample;
  killed: number;
  restarts: number;
}): void {
  const statuses = [...new Set([...run.tally.byKind.values()].flatMap((counts) => [...counts.keys()]))].sort();
  const kindRows: Array<Array<string | number>> = KINDS.map((kind) => {
    const counts = run.tally.byKind.get(kind) ?? new Map<string, number>();
    return [kind, [...counts.values()].reduce((a, b) => a + b, 0), ...statuses.map((status) => counts.get(status) ?? 0)];
  });
  const totals = statuses.map((_, i) => kindRows.reduce((sum, row) => sum + Number(row[i + 2]), 0));
  kindRows.push(['all', kindRows.reduce((sum, row) => sum + Number(row[1]), 0), ...totals]);
  printTable(`Soak: ${run.soakSeconds} s, ${run.clients} get_image clients (+${SLOW_CLIENTS} on the slow origin), a worker SIGKILLed every ${KILL_EVERY_MS / 1000} s (${run.killed} in all, ${run.restarts} restarts by the launcher), Redis restarted once — get_image answers by status`, ['kind', 'requests', ...statuses], kindRows);
  const buckets = [...run.tally.timeline.keys()].sort((a, b) => a - b);
  printTable(
    `Answers by time (${TIMELINE_BUCKET_SECONDS} s buckets, by when the answer ended)`,
    ['from s', ...statuses],
    buckets.map((bucket) => [bucket * TIMELINE_BUCKET_SECONDS, ...statuses.map((status) => run.tally.timeline.get(bucket)!.get(status) ?? 0)]),
  );
  printTable('Error codes seen (status, code from the JSON body or the client error)', ['status and code', 'count'], [...run.tally.codes.entries()].sort());

  const failed = new Map<string, number>();
  for (const batch of run.progress) for (const [code, count] of Object.entries(batch.failed)) failed.set(code, (failed.get(code) ?? 0) + count);
  const done = run.progress.reduce((sum, batch) => sum + batch.done, 0);
  const pending = run.progress.reduce((sum, batch) => sum + batch.pending, 0);
  printTable('Prefetch (fire_and_forget): submitted vs completed (must be equal)', ['batches', 'refused batches', 'submitted', 'completed', 'done', 'failed', 'pending'], [
    [run.prefetches.batchIds.length, run.prefetches.refusedBatches, run.prefetches.submitted, sumCompleted(run.progress), done, [...failed.entries()].map(([code, count]) => `${code} ${count}`).join(', ') || '0', pending],
  ]);

  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const memoryRow = (name: string, start: number, end: number) => [name, start, end, end / start];
  printTable('Memory (start = after warm-up, the baseline; end = after the prefetches ended)', ['what', 'start MB', 'end MB', 'end ÷ start'], [
    memoryRow('worker RSS, mean per worker process', mean(run.atStart.workerRssMb), mean(run.atEnd.workerRssMb)),
    memoryRow('worker RSS, largest worker process', Math.max(...run.atStart.workerRssMb), Math.max(...run.atEnd.workerRssMb)),
    memoryRow(`render children RSS, all (${run.atStart.renderChildren} at the start, ${run.atEnd.renderChildren} at the end)`, run.atStart.renderChildrenRssMb, run.atEnd.renderChildrenRssMb),
    memoryRow('Redis used_memory', run.atStart.redisUsedMb, run.atEnd.redisUsedMb),
  ]);
}

runBenchmark(main);
