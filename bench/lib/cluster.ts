import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { createBlockingConnection } from '@image-cloud/job-queue';
import { LaneLoad } from '@image-cloud/lane-policy';
import { serveClusterMetrics } from '@image-cloud/metrics';
import { canPinCpus, coresFor, forkSharingPort, nicedCommand, pinnedCommand } from '@image-cloud/local-cluster';
import { DIST_DIR, TEST_REDIS_URL, deleteKeysWithPrefix, freePort, stopProcesses, uniquePrefix, waitForHttp } from '@image-cloud/testing';
import { makeBenchStoreDir } from './store-dir';

export interface ClusterOptions {
  name: string;
  /** CONFIG document for every process. */
  config: Record<string, unknown>;
  /**
   * Service-server processes sharing the one port as `npm start` runs them (`server.processes`):
   * this process deals their connections and answers their /metrics over IPC, as the launcher does.
   * Unset: one server process alone, as a container runs it.
   */
  serverProcesses?: number;
  normalWorkers?: number;
  bigWorkers?: number;
  /** LOG_LEVEL of the worker processes (the server keeps `warn`). @defaultValue 'warn' */
  workerLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Every line a worker writes (stdout and stderr); without it their stdout is discarded and stderr shown. */
  onWorkerLine?: (line: string, lane: 'normal' | 'big') => void;
}

export interface Cluster {
  url: string;
  prefix: string;
  /** The server processes' pids, by PROCESS_INDEX. */
  serverPids: number[];
  stop(): Promise<void>;
}

/** Waits until the normal-lane workers announce `slots` job slots with their heartbeat. */
async function waitForWorkerSlots(prefix: string, slots: number): Promise<void> {
  const redis = createBlockingConnection(TEST_REDIS_URL, 'bench-cluster');
  try {
    const load = new LaneLoad(redis, prefix);
    const giveUpAt = Date.now() + 30_000;
    while ((await load.capacity('normal')).slots < slots) {
      if (Date.now() > giveUpAt) throw new Error(`the workers did not announce ${slots} job slots in time`);
      await sleep(100);
    }
  } finally {
    redis.disconnect();
  }
}

/** Waits until /metrics carries every one of `count` server processes (each registers once it listens). */
async function waitForServerProcesses(url: string, count: number): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const indexes = new Set([...text.matchAll(/^process_start_time_seconds\{role="server",index="(\d+)"\}/gm)].map((match) => match[1]));
    if (indexes.size >= count) return;
    if (Date.now() > giveUpAt) throw new Error(`only ${indexes.size} of ${count} server processes answered in time`);
    await sleep(200);
  }
}

/**
 * The system as `npm start` runs it, from the built bundles: the server process(es) (see
 * `serverProcesses`), normal-lane workers pinned one per core with taskset (where it exists),
 * big-lane workers niced. Own data dir (lib/store-dir.ts says where) and key prefix.
 * BENCH_SERVER_NODE_ARGS (e.g. a profiler's flags) apply to the first server process only.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const prefix = uniquePrefix(`bench-${options.name}`);
  const dataDir = await makeBenchStoreDir(options.name);
  const configPath = join(dataDir, 'config.json');
  await writeFile(configPath, JSON.stringify(options.config));
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: configPath, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', MALLOC_ARENA_MAX: '2' };
  const children: ChildProcess[] = [];
  const workerEnv = { LOG_LEVEL: options.workerLogLevel ?? 'warn', UV_THREADPOOL_SIZE: '4' };
  const start = ({ command, args }: { command: string; args: string[] }, extraEnv: Record<string, string> = {}) => {
    const lane = extraEnv['WORKER_LANE'] as 'normal' | 'big' | undefined;
    const onLine = lane ? options.onWorkerLine : undefined;
    const child = spawn(command, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', onLine ? 'pipe' : 'ignore', onLine ? 'pipe' : 'inherit'] });
    if (onLine && lane) for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => onLine(line, lane));
    children.push(child);
  };
  const node = process.execPath;
  const worker = join(DIST_DIR, 'image-worker', 'main.js');
  const serverNodeArgs = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const serverMain = join(DIST_DIR, 'service-server', 'main.js');
  let servers: ChildProcess[];
  if (options.serverProcesses === undefined) {
    start({ command: node, args: [...serverNodeArgs, serverMain] });
    servers = [children[0]!];
  } else {
    servers = Array.from({ length: options.serverProcesses }, (_, i) =>
      // Their output is ours: open mode's warning, once per process, would drown the tables.
      forkSharingPort(serverMain, { ...env, LOG_LEVEL: 'error', PROCESS_INDEX: String(i) }, i === 0 ? serverNodeArgs : []),
    );
    children.push(...servers);
    const answerClusterMetrics = serveClusterMetrics({ registry: new Registry(), children: () => servers, timeoutMs: 1_500 });
    for (const server of servers) server.on('message', (message) => answerClusterMetrics(server, message));
  }
  const cores = availableParallelism();
  const pin = canPinCpus();
  const nodeArgs = (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const normalWorkers = options.normalWorkers ?? cores;
  for (let i = 0; i < normalWorkers; i++) {
    start(pinnedCommand(node, [...nodeArgs, worker], pin ? coresFor(i, 1, cores) : null), { ...workerEnv, WORKER_LANE: 'normal' });
  }
  for (let i = 0; i < (options.bigWorkers ?? 1); i++) start(nicedCommand(node, [worker]), { ...workerEnv, WORKER_LANE: 'big' });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcesses(children);
    await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${url}/readyz`);
    // Readiness needs one server process; a measurement needs all of them listening.
    if (options.serverProcesses !== undefined) await waitForServerProcesses(url, options.serverProcesses);
    const slotsPerWorker = Number((options.config['worker'] as { concurrency?: number } | undefined)?.concurrency ?? 1);
    await waitForWorkerSlots(prefix, normalWorkers * slotsPerWorker);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, prefix, serverPids: servers.map((server) => server.pid!), stop };
}
