import { loadConfig } from '@image-cloud/config';
import { createLogger } from '@image-cloud/logger';
import { answerMetricsRequests, startMetricsHttpServer } from '@image-cloud/metrics';
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
    // Workers take no work over the network. Prometheus reaches them on a metrics-only port in a
    // cluster (METRICS_PORT), or through the launcher's IPC channel under `npm start`.
    if (process.send) answerMetricsRequests(running.registry);
    const metricsPort = config.metricsPort === undefined ? undefined : await startMetricsHttpServer(running.registry, config.metricsPort, config.host);
    logger.info('image worker started', { lane: running.size, concurrency: config.worker.concurrency, ...(metricsPort ? { metricsPort: metricsPort.port } : {}) });
    return {
      stop: async () => {
        await running.close(SHUTDOWN_GRACE_MS);
        await metricsPort?.close();
      },
    };
  },
  { forceExitMs: SHUTDOWN_GRACE_MS + 5_000 },
);
