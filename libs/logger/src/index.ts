export { createLogger, redactSecrets, type Logger, type LogLevel, type LogFields } from './logger';
