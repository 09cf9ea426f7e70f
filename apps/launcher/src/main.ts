import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@image-cloud/config';
import { redactSecrets } from '@image-cloud/logger';
import { createProcessRegistry, serveClusterMetrics } from '@image-cloud/metrics';
import { EXIT_CONFIG_ERROR } from '@image-cloud/process-lifecycle';
import {
  type EmbeddedRedis,
  ProcessSupervisor,
  canPinCpus,
  coresFor,
  nicedCommand,
  pinnedCommand,
  redisAnswers,
  startEmbeddedRedis,
} from '@image-cloud/local-cluster';

/** How long the launcher waits for each child's metrics; one that is busy or restarting is left out of that scrape. */
const CHILD_METRICS_TIMEOUT_MS = 1_500;

// Plain lines for a person at a terminal, but never with the Redis password of REDIS_URL.
const log = (message: string) => process.stderr.write(`[launcher] ${redactSecrets(message)}\n`);

/**
 * `npm start`: the whole image cloud on one machine — Redis (embedded when none answers and
 * REDIS_URL was not set), the ServiceServer processes sharing one port (one per core), one pinned
 * normal-lane worker per core and the big-lane worker(s). Ctrl-C or SIGTERM stops them all cleanly,
 * in order: the servers (which answer their waiting clients), then the workers, then the embedded Redis.
 */
async function main(): Promise<number> {
  // Listening from the first moment: Ctrl-C while the embedded Redis starts must end the launcher
  // too (the children ignore SIGINT under it and wait for it to stop them in order).
  let stopRequested = false;
  let supervisor: ProcessSupervisor | undefined;
  let embedded: EmbeddedRedis | undefined;
  const shutdown = (signal: string) => {
    if (stopRequested) {
      log(`${signal}: already stopping; the workers finish their running jobs first.`);
      return;
    }
    log(`${signal}: stopping all processes (servers first, then workers${embedded ? ', then Redis' : ''}).`);
    stopRequested = true;
    void supervisor?.stop();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  const config = loadConfig();
  let redisUrl = config.redisUrl;
  if (!(await redisAnswers(redisUrl))) {
    if (config.redisUrlGiven) {
      log(`no Redis answers at REDIS_URL=${redisUrl}. Start it, or unset REDIS_URL to let npm start run its own.`);
      return 1;
    }
    const port = Number(new URL(redisUrl).port || 6379);
    log(`no Redis answers at ${redisUrl}; starting an embedded redis-server on port ${port} (data in ${join(config.dataDir, 'redis')}).`);
    embedded = await startEmbeddedRedis({ port, dataDir: config.dataDir });
    redisUrl = embedded.url;
  }
  if (stopRequested) {
    await embedded?.stop();
    log('stopped.');
    return 0;
  }

  const cores = availableParallelism();
  const pin = canPinCpus();
  const node = process.execPath;
  const dist = join(__dirname, '..');
  const baseEnv = { ...process.env, REDIS_URL: redisUrl, MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] ?? '2' };
  // Workers report through the launcher here; a METRICS_PORT meant for the server would make them collide on it.
  const workerEnv = { ...baseEnv, METRICS_PORT: undefined };
  // The server's /metrics carries every process: it asks here, and the launcher asks each child over IPC.
  const answerClusterMetrics = serveClusterMetrics({
    registry: createProcessRegistry({ role: 'launcher', index: 0 }),
    children: () => supervisor?.running() ?? [],
    timeoutMs: CHILD_METRICS_TIMEOUT_MS,
  });
  const children = new ProcessSupervisor(log, answerClusterMetrics);
  supervisor = children;

  // One server process per core by default, all on PORT: one process is CPU-bound on one core by hits.
  // Stopped first: they answer their waiting clients while the workers (stage 1) still finish their jobs.
  const servers = config.server.processes;
  for (let i = 0; i < servers; i++) {
    children.start({
      name: `service-server-${i}`,
      sharedPortScript: join(dist, 'service-server', 'main.js'),
      // A METRICS_PORT serves one process's registry: the first server's, as when there was one server.
      env: { ...baseEnv, PROCESS_INDEX: String(i), ...(i > 0 ? { METRICS_PORT: undefined } : {}) },
      stopStage: 0,
    });
  }
  const coresPerWorker = config.worker.concurrency;
  for (let i = 0; i < config.worker.processes; i++) {
    const cmd = pinnedCommand(node, [join(dist, 'image-worker', 'main.js')], pin ? coresFor(i, coresPerWorker, cores) : null);
    children.start({
      name: `worker-normal-${i}`,
      ...cmd,
      stopStage: 1,
      // One libuv thread per job slot plus headroom for file I/O; libvips threads are set by the worker.
      env: { ...workerEnv, WORKER_LANE: 'normal', PROCESS_INDEX: String(i), UV_THREADPOOL_SIZE: String(Math.max(4, coresPerWorker * 2)) },
    });
  }
  for (let i = 0; i < config.worker.bigProcesses; i++) {
    // Big-lane workers are niced: on shared cores a flood of giants takes only the CPU the normal lane leaves.
    children.start({
      name: `worker-big-${i}`,
      stopStage: 1,
      ...nicedCommand(node, [join(dist, 'image-worker', 'main.js')]),
      env: { ...workerEnv, WORKER_LANE: 'big', PROCESS_INDEX: String(i), UV_THREADPOOL_SIZE: '4' },
    });
  }
  log(
    `running: ${servers} server process(es) on port ${config.port}, ${config.worker.processes} normal-lane worker(s)${pin ? ' pinned with taskset' : ''}, ` +
      `${config.worker.bigProcesses} big-lane worker(s), Redis ${embedded ? 'embedded' : 'at ' + redisUrl}.`,
  );

  const code = await children.stopped;
  if (embedded) await embedded.stop();
  log('stopped.');
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      log(`invalid configuration:\n${error.message}`);
      process.exit(EXIT_CONFIG_ERROR);
    }
    log(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
