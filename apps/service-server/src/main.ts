import { loadConfig } from '@image-cloud/config';
import { createLogger } from '@image-cloud/logger';
import { answerMetricsRequests, askLauncherForMetrics, startMetricsHttpServer } from '@image-cloud/metrics';
import { runServiceProcess } from '@image-cloud/process-lifecycle';
import { startServiceServer } from './start-service-server';

/** How long /metrics waits for the launcher to gather the other processes' metrics. */
const CLUSTER_METRICS_TIMEOUT_MS = 2_000;

runServiceProcess(
  'service-server',
  async () => {
    const config = loadConfig();
    const logger = createLogger({ level: config.logLevel, name: 'service-server' });
    if (config.openMode) {
      logger.warn('OPEN MODE: no tenants are configured, so every request is served without a token. Configure tenants in CONFIG for production.');
    }
    // Started by `npm start`'s launcher (an IPC channel): /metrics carries every process of the machine.
    const otherProcessMetrics = process.send ? () => askLauncherForMetrics(CLUSTER_METRICS_TIMEOUT_MS) : undefined;
    const running = await startServiceServer(config, logger, { otherProcessMetrics });
    // Its sibling server processes' /metrics carry this one's too.
    if (process.send) answerMetricsRequests(running.registry);
    const metricsPort = config.metricsPort === undefined ? undefined : await startMetricsHttpServer(running.registry, config.metricsPort, config.host);
    const reach = config.openMode && config.host === '127.0.0.1' ? ' (open mode: this machine only; set HOST to listen elsewhere)' : '';
    logger.info(`service server listening on ${config.host}:${running.port}${reach}`, {
      port: running.port,
      host: config.host,
      dataDir: config.dataDir,
      ...(metricsPort ? { metricsPort: metricsPort.port } : {}),
    });
    return {
      stop: async () => {
        await running.close();
        await metricsPort?.close();
      },
    };
  },
  { forceExitMs: 10_000 },
);
