import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { configFileSchema, type ConfigFile } from './config-file-schema';
import { type EnvVars, envSchema } from './env-schema';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Everything the apps need, validated once at start-up and frozen. */
export interface AppConfig extends Omit<ConfigFile, 'worker'> {
  port: number;
  host: string;
  redisUrl: string;
  /** False when REDIS_URL was not set: the launcher may then start an embedded redis-server. */
  redisUrlGiven: boolean;
  dataDir: string;
  configPath?: string;
  queuePrefix: string;
  workerLane: EnvVars['WORKER_LANE'];
  logLevel: EnvVars['LOG_LEVEL'];
  /** METRICS_PORT: a port serving GET /metrics only, when set. */
  metricsPort?: number;
  /** PROCESS_INDEX: which process of its role this is, for the `index` metrics label. */
  processIndex: number;
  worker: ConfigFile['worker'] & { processes: number };
  /** True when no tenants are configured: every request is served without a token. */
  openMode: boolean;
}

/** Thrown when the environment or the config file is wrong; its message names every bad key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function describeIssues(source: string, issues: z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      return `${source} ${key}: ${issue.message}`;
    })
    .join('\n');
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`CONFIG: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`CONFIG: ${path} is not valid JSON (${(error as Error).message})`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Parses environment variables and the optional `CONFIG` file (or an inline object, for tests).
 * Throws ConfigError naming every wrong key; returns a frozen AppConfig.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  inlineConfig?: unknown,
): AppConfig {
  const envResult = envSchema.safeParse(env);
  if (!envResult.success) throw new ConfigError(describeIssues('environment variable', envResult.error.issues));
  const vars = envResult.data;

  const configPath = vars.CONFIG ? resolve(vars.CONFIG) : undefined;
  const rawFile = inlineConfig ?? (configPath ? readConfigFile(configPath) : {});
  const fileResult = configFileSchema.safeParse(rawFile);
  if (!fileResult.success) throw new ConfigError(describeIssues('CONFIG key', fileResult.error.issues));
  const file = fileResult.data;
  const openMode = Object.keys(file.tenants).length === 0;

  return deepFreeze({
    ...file,
    worker: { ...file.worker, processes: file.worker.processes ?? availableParallelism() },
    port: vars.PORT,
    // Open mode serves anyone, so unless HOST says otherwise only this machine can reach it.
    host: vars.HOST ?? (openMode ? '127.0.0.1' : '0.0.0.0'),
    redisUrl: vars.REDIS_URL ?? DEFAULT_REDIS_URL,
    redisUrlGiven: vars.REDIS_URL !== undefined,
    dataDir: resolve(vars.DATA_DIR),
    configPath,
    queuePrefix: vars.QUEUE_PREFIX,
    workerLane: vars.WORKER_LANE,
    logLevel: vars.LOG_LEVEL,
    metricsPort: vars.METRICS_PORT,
    processIndex: vars.PROCESS_INDEX,
    openMode,
  });
}
