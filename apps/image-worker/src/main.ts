import { loadConfig } from '@image-cloud/config';
import { createLogger } from '@image-cloud/logger';
import { runServiceProcess } from '@image-cloud/process-lifecycle';
import { startImageWorker } from '@image-cloud/worker-runtime';

/** Grace for running jobs on SIGTERM: the big lane's 60 s budget fits, inside Kubernetes' 90 s. */
const SHUTDOWN_GRACE_MS = 75_000;

runServiceProcess(
  'image-worker',
  async () => {
    const config = loadConfig();
    const logger = createLogger({ level: config.logLevel, name: 'image-worker', fields: { lane: config.workerLane } });
    const running = await startImageWorker(config, logger);
    logger.info('image worker started', { lane: running.size, concurrency: config.worker.concurrency });
    return { stop: () => running.close(SHUTDOWN_GRACE_MS) };
  },
  { forceExitMs: SHUTDOWN_GRACE_MS + 5_000 },
);
