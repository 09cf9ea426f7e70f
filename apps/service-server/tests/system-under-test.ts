import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppConfig, loadConfig } from '@image-cloud/config';
import { redisKeys } from '@image-cloud/job-queue';
import { createLogger } from '@image-cloud/logger';
import IORedis from 'ioredis';
import { type OriginServer, TEST_REDIS_URL, deleteKeysWithPrefix, startOriginServer, uniquePrefix } from '@image-cloud/testing';
import { type RunningWorker, startImageWorker } from '@image-cloud/worker-runtime';
import { type RunningServer, startServiceServer } from '../src/start-service-server';

export interface SystemUnderTest {
  config: AppConfig;
  origin: OriginServer;
  server: RunningServer;
  worker: RunningWorker;
  /** GET/DELETE against the server; `path` includes the query string. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** `/get_image?url=<origin path>&…` */
  getImage(originPath: string, params?: Record<string, string>, init?: RequestInit): Promise<Response>;
  /** Render jobs the workers have finished so far (each publishes one outcome notice). */
  jobsCreated(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The whole cloud in this process: a real origin on 127.0.0.1, the ServiceServer on port 0 and an
 * image worker, against the real Redis under a prefix of their own.
 */
export async function startSystem(options: { name: string; fixturesDir?: string; config?: Record<string, unknown> }): Promise<SystemUnderTest> {
  const prefix = uniquePrefix(options.name);
  const dataDir = await mkdtemp(join(tmpdir(), `image-cloud-${options.name}-`));
  const origin = await startOriginServer({ fixturesDir: options.fixturesDir });
  const config = loadConfig(
    { PORT: '0', HOST: '127.0.0.1', REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' },
    {
      allowPrivateOrigins: ['127.0.0.0/8'],
      server: { waitTimeoutMs: 15_000, pollIntervalMs: 200 },
      fetch: { connectTimeoutMs: 1000, responseTimeoutMs: 1500, totalTimeoutMs: 3000 },
      ...options.config,
    },
  );
  const logger = createLogger({ level: 'silent', name: options.name });
  const server = await startServiceServer(config, logger);
  const worker = await startImageWorker(config, logger);

  const outcomes: string[] = [];
  const subscriber = new IORedis(TEST_REDIS_URL);
  subscriber.on('message', (_channel: string, message: string) => outcomes.push(message));
  await subscriber.subscribe(redisKeys.outcomeChannel(prefix));

  const request = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
  return {
    config,
    origin,
    server,
    worker,
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
      await origin.close();
      await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function bodyOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}
