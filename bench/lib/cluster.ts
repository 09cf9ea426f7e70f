import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TEST_REDIS_URL, deleteKeysWithPrefix, freePort, stopProcesses, uniquePrefix, waitForHttp } from '@image-cloud/testing';

export const ROOT = resolve(__dirname, '..', '..');

export interface ClusterOptions {
  name: string;
  /** CONFIG document for every process. */
  config: Record<string, unknown>;
  normalWorkers?: number;
  bigWorkers?: number;
}

export interface Cluster {
  url: string;
  prefix: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/**
 * The system as `npm start` runs it, from the built bundles: one server, normal-lane workers pinned
 * one per core with taskset, big-lane workers niced. Own data dir and key prefix.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const prefix = uniquePrefix(`bench-${options.name}`);
  const dataDir = await mkdtemp(join(tmpdir(), `bench-${options.name}-`));
  const configPath = join(dataDir, 'config.json');
  await writeFile(configPath, JSON.stringify(options.config));
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: configPath, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', MALLOC_ARENA_MAX: '2' };
  const children: ChildProcess[] = [];
  const start = (command: string, args: string[], extraEnv: Record<string, string> = {}) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
  };
  const node = process.execPath;
  start(node, ['dist/service-server/main.js']);
  const cores = availableParallelism();
  for (let i = 0; i < (options.normalWorkers ?? cores); i++) {
    start('taskset', ['--cpu-list', String(i % cores), node, ...(process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean), 'dist/image-worker/main.js'], { WORKER_LANE: 'normal', UV_THREADPOOL_SIZE: '4' });
  }
  for (let i = 0; i < (options.bigWorkers ?? 1); i++) {
    start('nice', ['-n', '10', node, 'dist/image-worker/main.js'], { WORKER_LANE: 'big', UV_THREADPOOL_SIZE: '4' });
  }
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`);
  // Workers announce themselves with a heartbeat; give them a moment after the server is ready.
  await new Promise((r) => setTimeout(r, 1500));
  return {
    url,
    prefix,
    redisUrl: TEST_REDIS_URL,
    async stop() {
      await stopProcesses(children);
      await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
