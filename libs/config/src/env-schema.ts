import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65_535);

/** Environment variables of every process (server, workers, launcher). Only the config lib reads `process.env`. */
export const envSchema = z.object({
  /** @defaultValue 5000 */
  PORT: port.default(5000),
  /** @defaultValue "0.0.0.0", or "127.0.0.1" in open mode (no tenants) */
  HOST: z.string().min(1).optional(),
  /** @defaultValue "redis://127.0.0.1:6379" */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'expected a redis:// or rediss:// URL')
    .optional(),
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
  /** @defaultValue "info" */
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  // Storage settings, so a deployment can point every host at one bucket without a CONFIG file; each
  // overrides its `storage` key of the file. Credentials stay in the SDK's own AWS_* variables.
  /** `storage.kind`: "local" or "s3". @defaultValue the file's, else "local" */
  STORAGE_KIND: z.enum(['local', 's3']).optional(),
  /** `storage.bucket` */
  S3_BUCKET: z.string().min(1).optional(),
  /** `storage.endpoint` */
  S3_ENDPOINT: z.string().min(1).optional(),
  /** `storage.region` */
  S3_REGION: z.string().min(1).optional(),
  /** `storage.forcePathStyle`: "true" or "false" */
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false'], 'expected "true" or "false"').optional(),
  /** `storage.prefix` */
  S3_PREFIX: z.string().optional(),
  /** `storage.cacheBytes` */
  STORAGE_CACHE_BYTES: z.coerce.number().int().positive().optional(),
  /** `storage.cacheDir` */
  STORAGE_CACHE_DIR: z.string().min(1).optional(),
});

export type EnvVars = z.infer<typeof envSchema>;
