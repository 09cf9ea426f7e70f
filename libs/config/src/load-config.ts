import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { configFileSchema, type ConfigFile } from './config-file-schema';
import { type EnvVars, envSchema } from './env-schema';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Everything the apps need, validated once at start-up and frozen. */
export interface AppConfig extends Omit<ConfigFile, 'worker' | 'server'> {
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
  server: ConfigFile['server'] & { processes: number };
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

function describeIssues(source: string, issues: z.core.$ZodIssue[], storageFromEnv: ReadonlySet<string> = new Set()): string {
  return issues
    .map((issue) => {
      const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      const variable = issue.path[0] === 'storage' ? STORAGE_ENV[issue.path[1] as keyof typeof STORAGE_ENV] : undefined;
      if (variable && storageFromEnv.has(variable)) return `environment variable ${variable} (${key}): ${issue.message}`;
      return `${source} ${key}${variable ? ` (or ${variable})` : ''}: ${issue.message}`;
    })
    .join('\n');
}

/** The environment variable that sets each key of `storage`, overriding the CONFIG file's. */
const STORAGE_ENV = {
  kind: 'STORAGE_KIND',
  bucket: 'S3_BUCKET',
  endpoint: 'S3_ENDPOINT',
  region: 'S3_REGION',
  forcePathStyle: 'S3_FORCE_PATH_STYLE',
  prefix: 'S3_PREFIX',
  cacheBytes: 'STORAGE_CACHE_BYTES',
  cacheDir: 'STORAGE_CACHE_DIR',
} as const;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The config file with the storage variables laid over its `storage` (the file schema then checks
 * the result), and the names of the variables that were set, so errors can name them.
 */
function withStorageFromEnv(rawFile: unknown, vars: EnvVars): { raw: unknown; storageFromEnv: Set<string> } {
  const fromEnv: Record<keyof typeof STORAGE_ENV, unknown> = {
    kind: vars.STORAGE_KIND,
    bucket: vars.S3_BUCKET,
    endpoint: vars.S3_ENDPOINT,
    region: vars.S3_REGION,
    forcePathStyle: vars.S3_FORCE_PATH_STYLE === undefined ? undefined : vars.S3_FORCE_PATH_STYLE === 'true',
    prefix: vars.S3_PREFIX,
    cacheBytes: vars.STORAGE_CACHE_BYTES,
    cacheDir: vars.STORAGE_CACHE_DIR,
  };
  const given = Object.entries(fromEnv).filter(([, value]) => value !== undefined) as Array<[keyof typeof STORAGE_ENV, unknown]>;
  const storageFromEnv = new Set(given.map(([key]) => STORAGE_ENV[key]));
  if (given.length === 0 || !isRecord(rawFile)) return { raw: rawFile, storageFromEnv };

  const fileStorage = isRecord(rawFile['storage']) ? rawFile['storage'] : {};
  const kind = vars.STORAGE_KIND ?? fileStorage['kind'] ?? 'local';
  if (kind !== 's3') {
    // An S3 setting with local storage is a mistake (a forgotten STORAGE_KIND), not something to ignore.
    const unused = given.filter(([key]) => key !== 'kind').map(([key]) => STORAGE_ENV[key]);
    if (unused.length > 0) throw new ConfigError(`environment variable ${unused.join(', ')}: only used with storage kind "s3" (set STORAGE_KIND=s3)`);
    return { raw: vars.STORAGE_KIND ? { ...rawFile, storage: { kind: vars.STORAGE_KIND } } : rawFile, storageFromEnv };
  }
  // Switching the file's local storage to S3 keeps none of its keys: local has none besides kind.
  const base = fileStorage['kind'] === 's3' ? fileStorage : {};
  return { raw: { ...rawFile, storage: { ...base, ...Object.fromEntries(given), kind: 's3' } }, storageFromEnv };
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
  const { raw, storageFromEnv } = withStorageFromEnv(inlineConfig ?? (configPath ? readConfigFile(configPath) : {}), vars);
  const fileResult = configFileSchema.safeParse(raw);
  if (!fileResult.success) throw new ConfigError(describeIssues('CONFIG key', fileResult.error.issues, storageFromEnv));
  const file = fileResult.data;
  const openMode = Object.keys(file.tenants).length === 0;

  return deepFreeze({
    ...file,
    worker: { ...file.worker, processes: file.worker.processes ?? availableParallelism() },
    server: {
      ...file.server,
      processes: vars.SERVER_PROCESSES ?? file.server.processes ?? availableParallelism(),
      memoryCacheBytes: vars.MEMORY_CACHE_BYTES ?? file.server.memoryCacheBytes,
    },
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
