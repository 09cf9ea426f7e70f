import { RedisAddressError, parseRedisAddress } from '@image-cloud/redis-address';
import { z } from 'zod';

function checkRedisAddress(url: string, context: z.RefinementCtx): void {
  try {
    parseRedisAddress(url);
  } catch (error) {
    if (!(error instanceof RedisAddressError)) throw error;
    context.addIssue({ code: 'custom', message: error.message });
  }
}

const port = z.coerce.number().int().min(0).max(65_535);

/**
 * Unset when empty: compose's `${S3_BUCKET:-}` and an empty ConfigMap value pass "", which means
 * "not given" to an operator, not "an empty bucket name".
 */
const optionalSetting = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** Environment variables of every process (server, workers, launcher). Only the config lib reads `process.env`. */
export const envSchema = z.object({
  /** @defaultValue 5000 */
  PORT: port.default(5000),
  /** @defaultValue "0.0.0.0", or "127.0.0.1" in open mode (no tenants) */
  HOST: z.string().min(1).optional(),
  /**
   * One Redis (`redis://`, `rediss://`) or a primary found through Sentinels
   * (`redis-sentinel://[[user]:password@]host:port[,host:port…]/masterName[?db=N&sentinelPassword=…]`).
   * @defaultValue "redis://127.0.0.1:6379"
   */
  REDIS_URL: z.string().superRefine(checkRedisAddress).optional(),
  /** @defaultValue "./data" */
  DATA_DIR: z.string().min(1).default('./data'),
  /** Path of the JSON config file. */
  CONFIG: z.string().min(1).optional(),
  /** Key prefix of every BullMQ queue and of our own Redis keys; braces keep a cluster slot. @defaultValue "{image-cloud}" */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9{}_.-]+$/, 'expected letters, digits, braces, dot, dash or underscore')
    .default('{image-cloud}'),
  /** Which lanes this worker process serves. @defaultValue "normal" */
  WORKER_LANE: z.enum(['normal', 'big']).default('normal'),
  /**
   * A port that serves GET /metrics only (Prometheus scrapes workers there; the server also answers
   * /metrics on PORT). Unset: no metrics port; under `npm start` the launcher gathers every
   * process's metrics over IPC instead. @defaultValue none
   */
  METRICS_PORT: port.optional(),
  /** Which process of its role this is (the `index` label of its metrics); `npm start` numbers its workers. @defaultValue 0 */
  PROCESS_INDEX: z.coerce.number().int().min(0).default(0),
  /** `server.processes`: service-server processes `npm start` runs on the one port. @defaultValue the file's, else the number of cores */
  SERVER_PROCESSES: optionalSetting(z.coerce.number().int().positive()),
  /** @defaultValue "info" */
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  // Storage settings, so a deployment can point every host at one bucket without a CONFIG file; each
  // overrides its `storage` key of the file. Credentials stay in the SDK's own AWS_* variables.
  /** `storage.kind`: "local" or "s3". @defaultValue the file's, else "local" */
  STORAGE_KIND: optionalSetting(z.enum(['local', 's3'])),
  /** `storage.bucket` */
  S3_BUCKET: optionalSetting(z.string()),
  /** `storage.endpoint` */
  S3_ENDPOINT: optionalSetting(z.string()),
  /** `storage.region` */
  S3_REGION: optionalSetting(z.string()),
  /** `storage.forcePathStyle`: "true" or "false" */
  S3_FORCE_PATH_STYLE: optionalSetting(z.enum(['true', 'false'], 'expected "true" or "false"')),
  /** `storage.prefix` */
  S3_PREFIX: optionalSetting(z.string()),
  /** `storage.cacheBytes` */
  STORAGE_CACHE_BYTES: optionalSetting(z.coerce.number().int().positive()),
  /** `storage.cacheDir` */
  STORAGE_CACHE_DIR: optionalSetting(z.string()),
  /** `server.memoryCacheBytes` (0 turns the server's memory tier off) */
  MEMORY_CACHE_BYTES: optionalSetting(z.coerce.number().int().min(0)),
});

export type EnvVars = z.infer<typeof envSchema>;
