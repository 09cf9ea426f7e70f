import { ConfigError, loadConfig } from '@image-cloud/config';
import { createLogger } from '@image-cloud/logger';
import { startServiceServer } from './start-service-server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'service-server' });
  if (config.openMode) {
    logger.warn('OPEN MODE: no tenants are configured, so every request is served without a token. Configure tenants in CONFIG for production.');
  }
  const running = await startServiceServer(config, logger);
  logger.info('service server listening', { port: running.port, host: config.host, dataDir: config.dataDir });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const forced = setTimeout(() => process.exit(1), 10_000);
    forced.unref();
    await running.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`service-server: invalid configuration:\n${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`service-server: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
