export { loadConfig, ConfigError, type AppConfig } from './load-config';
export { configFileSchema, type ConfigFile } from './config-file-schema';
