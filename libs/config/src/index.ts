export { loadConfig, ConfigError, type AppConfig } from './load-config';
export { configFileSchema, type ConfigFile, type StorageConfig } from './config-file-schema';
