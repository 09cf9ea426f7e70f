import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppConfig, loadConfig } from '@image-cloud/config';
import { type JobEvent, redisKeys } from '@image-cloud/job-queue';
import { createLogger } from '@image-cloud/logger';
import { createProcessRegistry } from '@image-cloud/metrics';
import { redisAnswers } from '@image-cloud/local-cluster';
import { createRedisClient } from '@image-cloud/redis-address';
import {
  DIST_DIR,
  type OriginServer,
  TEST_REDIS_URL,
  countKeysWithPrefix,
  deleteKeysWithPrefix,
  startOriginServer,
  uniquePrefix,
} from '@image-cloud/testing';
import { type RunningWorker, startImageWorker } from '@image-cloud/worker-runtime';
import { type RunningServer, startServiceServer } from '../src/start-service-server';

export interface SystemUnderTest {
  config: AppConfig;
  origin: OriginServer;
  server: RunningServer;
  /** The normal-lane worker and the big-lane worker. */
  worker: RunningWorker;
  bigWorker: RunningWorker;
  /** Every job event of both workers, in order. */
  jobEvents: JobEvent[];
  /** GET/DELETE against the server; `path` includes the query string. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** `/get_image?url=<origin path>&…` */
  getImage(originPath: string, params?: Record<string, string>, init?: RequestInit): Promise<Response>;
  /** Render jobs the workers have finished so far (each publishes one outcome notice; a reroute publishes none; downloads are not counted). */
  jobsCreated(): Promise<number>;
  stop(): Promise<void>;
}

/** Built by the suite's globalSetup (tools/jest-build-apps.cjs), as `npm start` builds it. */
export const RENDER_CHILD_SCRIPT = join(DIST_DIR, 'image-worker', 'render-child.js');

/**
 * The whole cloud in this process: a real origin on 127.0.0.1, the ServiceServer on port 0 and an
 * image worker, against the real Redis under a prefix of their own.
 */
export async function startSystem(options: {
  name: string;
  fixturesDir?: string;
  config?: Record<string, unknown>;
  /** Another Redis than the shared test one (fault tests run their own). */
  redisUrl?: string;
  /** Collects every log line of server and workers at debug level. */
  logLines?: string[];
  /** False: the server alone, so queued jobs stay queued. @defaultValue true */
  startWorkers?: boolean;
  /** A DATA_DIR the test owns (and removes itself), e.g. a small tmpfs. @defaultValue a fresh temp directory */
  dataDir?: string;
}): Promise<SystemUnderTest> {
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const prefix = uniquePrefix(options.name);
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), `image-cloud-${options.name}-`)));
  const origin = await startOriginServer({ fixturesDir: options.fixturesDir });
  const config = loadConfig(
    { PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisUrl, DATA_DIR: dataDir, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' },
    {
      allowPrivateOrigins: ['127.0.0.0/8'],
      server: { waitTimeoutMs: 15_000, pollIntervalMs: 200 },
      fetch: { connectTimeoutMs: 1000, responseTimeoutMs: 1500, totalTimeoutMs: 3000 },
      ...options.config,
    },
  );
  const logLines = options.logLines;
  const logger = logLines
    ? createLogger({ level: 'debug', name: options.name, write: (line) => logLines.push(line) })
    : createLogger({ level: 'silent', name: options.name });
  const server = await startServiceServer(config, logger);
  const jobEvents: JobEvent[] = [];
  const workerOptions = { renderChildScript: RENDER_CHILD_SCRIPT, onJobEvent: (event: JobEvent) => jobEvents.push(event) };
  const noWorker: RunningWorker = {
    size: 'normal',
    registry: createProcessRegistry({ role: 'no-worker', index: 0 }),
    stats: () => ({ activeJobs: 0, maxActiveJobs: 0, activeRenders: 0, maxActiveRenders: 0, maxActiveProbes: 0 }),
    close: async () => undefined,
  };
  const withWorkers = options.startWorkers ?? true;
  const worker = withWorkers ? await startImageWorker(config, logger, workerOptions) : noWorker;
  const bigWorker = withWorkers ? await startImageWorker({ ...config, workerLane: 'big' }, logger, workerOptions) : noWorker;

  const outcomes: string[] = [];
  const subscriber = createRedisClient(redisUrl, { maxRetriesPerRequest: null });
  subscriber.on('error', () => undefined);
  subscriber.on('message', (_channel: string, message: string) => {
    if ((JSON.parse(message) as { jobId: string }).jobId.includes('-render-')) outcomes.push(message);
  });
  await subscriber.subscribe(redisKeys.outcomeChannel(prefix));

  const request = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
  return {
    config,
    origin,
    server,
    worker,
    bigWorker,
    jobEvents,
    request,
    getImage(originPath, params = {}, init) {
      const query = new URLSearchParams({ url: origin.url(originPath), ...params });
      return request(`/get_image?${query}`, init);
    },
    async jobsCreated() {
      // Notices arrive asynchronously; give the last one a moment to land.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return outcomes.length;
    },
    async stop() {
      subscriber.disconnect();
      await server.close();
      await worker.close(5_000);
      await bigWorker.close(5_000);
      await origin.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
      // Tests must not leave anything in a shared Redis: whatever is still there after the
      // processes stopped is removed, and anything that appears after that is a leak.
      if (!(await redisAnswers(redisUrl))) return; // a fault test stopped its own Redis
      await deleteKeysWithPrefix(redisUrl, prefix);
      const left = await countKeysWithPrefix(redisUrl, prefix);
      if (left > 0) throw new Error(`${left} Redis keys under ${prefix} were written after the system stopped`);
    },
  };
}

export async function bodyOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}
