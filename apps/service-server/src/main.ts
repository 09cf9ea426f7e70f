import { loadConfig } from '@image-cloud/config';
import { createLogger } from '@image-cloud/logger';
import { runServiceProcess } from '@image-cloud/process-lifecycle';
import { startServiceServer } from './start-service-server';

runServiceProcess(
  'service-server',
  async () => {
    const config = loadConfig();
    const logger = createLogger({ level: config.logLevel, name: 'service-server' });
    if (config.openMode) {
      logger.warn('OPEN MODE: no tenants are configured, so every request is served without a token. Configure tenants in CONFIG for production.');
    }
    const running = await startServiceServer(config, logger);
    const reach = config.openMode && config.host === '127.0.0.1' ? ' (open mode: this machine only; set HOST to listen elsewhere)' : '';
    logger.info(`service server listening on ${config.host}:${running.port}${reach}`, { port: running.port, host: config.host, dataDir: config.dataDir });
    return { stop: () => running.close() };
  },
  { forceExitMs: 10_000 },
);
