import { z } from 'zod';
import { originUrlSchema } from '@image-cloud/contracts';

const positiveInt = z.number().int().positive();

export const tenantSchema = z
  .object({
    /** Secret bearer token of the tenant (compared in constant time, never logged). */
    token: z.string().min(16, 'a tenant token needs at least 16 characters'),
    /** Sustained requests per second. @defaultValue 50 */
    requestsPerSecond: z.number().positive().default(50),
    /** Requests allowed in a burst above the rate. @defaultValue 100 */
    burst: positiveInt.default(100),
  })
  .strict();

export const limitsSchema = z
  .object({
    /** Largest original accepted, in bytes. @defaultValue 30 000 000 */
    maxSourceBytes: positiveInt.default(30_000_000),
    /** Largest original accepted, in pixels (width × height of one frame). @defaultValue 50 000 000 */
    maxPixels: positiveInt.default(50_000_000),
    /** Most frames of an animation that are kept. @defaultValue 300 */
    maxFrames: positiveInt.default(300),
    /** Most pixels × frames a rendered variant may have; larger requests are 422 image_too_large before rendering. @defaultValue 40 000 000 */
    maxOutputPixels: positiveInt.default(40_000_000),
    /** Largest encoded variant, in bytes; a larger one is 422 image_too_large and not stored. @defaultValue 50 000 000 */
    maxOutputBytes: positiveInt.default(50_000_000),
  })
  .strict();

export const fetchSchema = z
  .object({
    /** @defaultValue 2000 */
    connectTimeoutMs: positiveInt.default(2_000),
    /** Time until the origin's response headers. @defaultValue 5000 */
    responseTimeoutMs: positiveInt.default(5_000),
    /** Whole download, headers to last byte. @defaultValue 15000 */
    totalTimeoutMs: positiveInt.default(15_000),
    /** @defaultValue 3 */
    maxRedirects: z.number().int().min(0).max(10).default(3),
    /** Downloads somebody waits for that one worker process runs at once (they hold I/O, not cores). @defaultValue 16 */
    concurrency: z.number().int().min(1).max(1000).default(16),
    /**
     * Prefetches one worker process downloads at once; they are held back while sync work waits or
     * renders (a prefetch still costs CPU). Keep it above the sum of the busiest domains' caps.
     * @defaultValue 8
     */
    prefetchConcurrency: z.number().int().min(1).max(1000).default(8),
    /** @defaultValue "image-cloud/1" */
    userAgent: z.string().min(1).default('image-cloud/1'),
    /** How long a sync request waits for a download slot of a saturated domain (`domains`) before 504. @defaultValue 30000 */
    slotWaitMs: positiveInt.default(30_000),
    /** Lease of a download slot, renewed while the download runs: a worker that dies frees its slots within this. @defaultValue 10000 */
    slotLeaseMs: z.number().int().min(300).default(10_000),
    /** Back-off of a domain after a 429/503 without Retry-After; doubles with each one in a row, up to 5 min. @defaultValue 5000 */
    backoffMs: positiveInt.default(5_000),
  })
  .strict();

export const serverSchema = z
  .object({
    /**
     * Service-server processes `npm start` runs, all answering on the one PORT (a container runs
     * one; scale its replicas instead). @defaultValue number of cores
     */
    processes: positiveInt.optional(),
    /** How long a request waits for its job: room for 5 s in the normal lane and 60 s in the big one. @defaultValue 70000 */
    waitTimeoutMs: positiveInt.default(70_000),
    /** A miss whose estimated wait (queue ahead ÷ live slots × measured job time) exceeds this is answered 503 at once. @defaultValue 10000 */
    overloadWaitMs: positiveInt.default(10_000),
    /** Fallback poll while waiting, in case a completion notice is missed. @defaultValue 500 */
    pollIntervalMs: positiveInt.default(500),
    /** Cache-Control max-age of images. @defaultValue 86400 */
    imageMaxAgeSeconds: z.number().int().min(0).default(86_400),
    /** How long an origin 404 or an undecodable image is remembered. @defaultValue 60 */
    negativeCacheSeconds: z.number().int().min(0).default(60),
    /**
     * Format of a resized image when a signed URL (a browser's) names none: `jpeg` as for every
     * other request, or `auto` to pick AVIF/WebP/JPEG from the browser's Accept header (answered
     * with `Vary: Accept`, which a CDN in front must honour). @defaultValue "jpeg"
     */
    signedUrlFormat: z.enum(['jpeg', 'auto']).default('jpeg'),
    /**
     * Bytes of the hottest small variants and originals (up to 512 KiB each) each server process
     * keeps in memory, answering their hits without a storage read; 0 turns it off. Overridden by
     * the MEMORY_CACHE_BYTES environment variable. @defaultValue 67108864 (64 MiB)
     */
    memoryCacheBytes: z.number().int().min(0).default(64 * 1024 * 1024),
  })
  .strict();

export const workerSchema = z
  .object({
    /** Normal-lane worker processes `npm start` runs. @defaultValue number of cores */
    processes: positiveInt.optional(),
    /** Big-lane worker processes `npm start` runs. @defaultValue 1 */
    bigProcesses: z.number().int().min(0).default(1),
    /** Jobs one worker process runs at once (one per core it owns). @defaultValue 1 */
    concurrency: positiveInt.default(1),
    /** Processing budget in the normal lanes, in ms. @defaultValue 5000 */
    normalBudgetMs: positiveInt.default(5_000),
    /** Processing budget in the big lanes, in ms. @defaultValue 60000 */
    bigBudgetMs: positiveInt.default(60_000),
    /** Originals with more pixels × frames go straight to the big lane. @defaultValue 25 000 000 */
    bigLanePixels: positiveInt.default(25_000_000),
    /** Originals with more bytes go straight to the big lane. @defaultValue 15 000 000 */
    bigLaneBytes: positiveInt.default(15_000_000),
    /** Attempts for retryable failures (origin 5xx, timeouts) of prefetch jobs. @defaultValue 3 */
    asyncAttempts: positiveInt.default(3),
    /**
     * BullMQ job lock: renewed every half of it while a job runs, so a worker that dies (SIGKILL,
     * OOM) loses its jobs to the other workers within this plus `stalledCheckMs` twice. Renders run
     * in child processes, so the worker's event loop stays free to renew it. @defaultValue 8000
     */
    lockMs: z.number().int().min(1_000).default(8_000),
    /** How often live workers look for jobs whose lock expired. @defaultValue 3000 */
    stalledCheckMs: z.number().int().min(500).default(3_000),
    /**
     * Memory one render child may use, in MiB: its V8 heap (`--max-old-space-size`) and, through
     * `ulimit -v`, what libvips allocates beyond the address space Node reserves at start. A render
     * over it fails alone (422 image_too_large); the worker and its other jobs go on. Sized so a
     * worker (parent, probe child, a render child) stays inside a 1 GiB container. @defaultValue 512
     */
    renderMemoryMb: z.number().int().min(64).default(512),
    /** JPEG/WebP/AVIF quality of rendered variants. @defaultValue 80 */
    quality: z.number().int().min(1).max(100).default(80),
  })
  .strict();

export const diskSchema = z
  .object({
    /** Bytes DATA_DIR's images may take; over it the least recently used variants, then originals, are evicted. @defaultValue maxFraction of (images + free space), measured at start */
    maxBytes: positiveInt.optional(),
    /** Without maxBytes: the budget as a share of what the images use plus what DATA_DIR's filesystem has free at start. @defaultValue 0.8 */
    maxFraction: z.number().gt(0).max(1).default(0.8),
    /** Variants kept per original; one more evicts that original's least recently used variant. @defaultValue 50 */
    maxVariantsPerOriginal: positiveInt.default(50),
    /** How often one of the worker processes checks the budget (a scan of DATA_DIR). @defaultValue 60 */
    checkIntervalSeconds: positiveInt.default(60),
  })
  .strict();

/** fire_and_forget: what one request and one tenant may have queued (Redis holds every queued URL). */
export const prefetchSchema = z
  .object({
    /** URLs one fire_and_forget request may carry; a longer list is refused whole (429 rate_limited). @defaultValue 200 000 */
    maxUrlsPerRequest: positiveInt.default(200_000),
    /** URLs a tenant may have waiting in its prefetch backlog; a request that would go over is refused whole (429 rate_limited). @defaultValue 200 000 */
    maxOutstandingPerTenant: z.number().int().min(100_000).default(200_000),
    /** Prefetch jobs kept ready in the fetch queue, topped up from the tenants' compact backlogs by fair share (each costs Redis about 1.4 KB, a backlog entry about 160 B). @defaultValue 1 000 */
    readyJobs: z.number().int().min(10).max(100_000).default(1_000),
  })
  .strict();

export const domainLimitSchema = z.union([
  positiveInt,
  z
    .object({
      maxParallel: positiveInt,
      /** Download starts per second (fractions allowed: 0.5 = one every 2 s), spaced evenly. */
      perSecond: z.number().positive().max(10_000).optional(),
    })
    .strict(),
]);

/** The local default: DATA_DIR holds every image (`npm start`'s single host). */
const localStorageSchema = z.object({ kind: z.literal('local') }).strict();

/** Any S3-compatible object store (AWS S3, MinIO, Ceph RGW, R2); credentials come from the AWS_* environment / provider chain. */
const s3StorageSchema = z
  .object({
    kind: z.literal('s3'),
    bucket: z.string().min(1),
    /** A non-AWS endpoint, e.g. "http://minio:9000". @defaultValue AWS for the region */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** @defaultValue AWS_REGION, else us-east-1 */
    region: z.string().min(1).optional(),
    /** Path-style addressing (endpoint/bucket/key), which most self-hosted servers need. @defaultValue false */
    forcePathStyle: z.boolean().default(false),
    /** Prepended to every object name, so several clouds can share a bucket. @defaultValue none */
    prefix: z.string().regex(/^[A-Za-z0-9!_.*'()/-]*$/, 'use letters, digits and !_.*\'()/- only').optional(),
    /** Local disk cache of hot variants and originals, per process, least recently used out first. @defaultValue 1 GiB */
    cacheBytes: positiveInt.default(1024 * 1024 * 1024),
    /** Where the per-process caches live; wiped at start. @defaultValue DATA_DIR/s3-cache */
    cacheDir: z.string().min(1).optional(),
  })
  .strict();

export const storageSchema = z.discriminatedUnion('kind', [localStorageSchema, s3StorageSchema]);

const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected a CIDR range like "127.0.0.0/8"');

/** The `CONFIG` JSON document (tenants, keys, domain caps, limits, peers, timings). Unknown keys are errors. */
export const configFileSchema = z
  .object({
    tenants: z.record(z.string().min(1), tenantSchema).default({}),
    signingKeys: z.array(z.string().min(16, 'a signing key needs at least 16 characters')).default([]),
    /** Longest a signed URL may live: an `expires` further ahead is refused (403 bad_signature). @defaultValue 2 592 000 (30 days) */
    signedUrlMaxLifetimeSeconds: positiveInt.default(30 * 24 * 3600),
    /** Tokens of operators: delete_image needs one (an ordinary tenant gets 403). @defaultValue none */
    adminTokens: z.array(z.string().min(16, 'an admin token needs at least 16 characters')).default([]),
    /**
     * Host names and addresses of this cloud as origins see it (its public name, its load balancer):
     * an origin URL pointing at one of them, or at an address this server listens on, is refused
     * (403 origin_forbidden) unless it is a configured peer, so a nested get_image cannot loop.
     */
    selfHosts: z.array(z.string().min(1)).default([]),
    /**
     * Maximum parallel downloads per origin domain, cluster-wide; `default` for unlisted domains.
     * A number (the old max_downloads.json), or `{maxParallel, perSecond}` to also cap download starts per second.
     */
    domains: z
      .record(z.string().min(1), domainLimitSchema)
      .default({})
      .transform((domains) => ({ default: 4, ...domains })),
    allowPrivateOrigins: z.array(cidr).default([]),
    limits: limitsSchema.prefault({}),
    thumbnailSizes: z.array(z.number().int().min(1).max(4096)).min(1).default([200, 250]),
    /** Other image clouds asked before an origin when a request says use_alternative_clouds. */
    peers: z.array(originUrlSchema).default([]),
    fetch: fetchSchema.prefault({}),
    server: serverSchema.prefault({}),
    worker: workerSchema.prefault({}),
    /** DATA_DIR's size budget and eviction (not `storage`, which names the storage backend). */
    disk: diskSchema.prefault({}),
    /** Where images live: `{"kind": "local"}` (DATA_DIR) or `{"kind": "s3", "bucket": …}`. @defaultValue local */
    storage: storageSchema.default({ kind: 'local' }),
    prefetch: prefetchSchema.prefault({}),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;
export type FetchConfig = z.infer<typeof fetchSchema>;
export type ServerConfig = z.infer<typeof serverSchema>;
export type WorkerConfig = z.infer<typeof workerSchema>;
export type DiskConfig = z.infer<typeof diskSchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type PrefetchConfig = z.infer<typeof prefetchSchema>;
