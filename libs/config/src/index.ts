export { loadConfig, ConfigError, DEFAULT_REDIS_URL, type AppConfig } from './load-config';
export {
  configFileSchema,
  type ConfigFile,
  type TenantConfig,
  type LimitsConfig,
  type FetchConfig,
  type ServerConfig,
  type WorkerConfig,
} from './config-file-schema';
export { envSchema, type EnvVars } from './env-schema';
