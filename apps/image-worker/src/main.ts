import { ConfigError, loadConfig } from '@image-cloud/config';
import { createLogger } from '@image-cloud/logger';
import { startImageWorker } from '@image-cloud/worker-runtime';

/** Grace for running jobs on SIGTERM: the big lane's budget fits inside Kubernetes' 90 s. */
const SHUTDOWN_GRACE_MS = 75_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'image-worker', fields: { lane: config.workerLane } });
  const running = await startImageWorker(config, logger);
  logger.info('image worker started', { lanes: running.lanes, concurrency: config.worker.concurrency });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down: finishing running jobs', { signal });
    await running.close(SHUTDOWN_GRACE_MS);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`image-worker: invalid configuration:\n${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`image-worker: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
