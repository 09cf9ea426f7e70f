import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LANES } from '@image-cloud/contracts';
import { ERROR_CODES } from '@image-cloud/errors';
import { cachedReading } from './cached-reading';
import { DURATION_BUCKETS, METRIC_PREFIX } from './metric-prefix';
import { bigLaneCounter, rateLimitedCounter } from './shared-counters';

const BATCH_RESULTS = ['accepted', 'duplicate', 'rejected'] as const;

/** How a request was answered from the cache's point of view; `none` for requests that serve no image. */
export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'none';

export interface ObservedRequest {
  /** The route template (`/get_image`, `/fire_and_forget/:batch`, …, `other`): never the raw path. */
  route: string;
  status: number;
  /** The error registry's code of an error answer. */
  code?: string;
  cache: CacheResult;
  /** Lane that rendered the variant (`normal`, `big`), or `none`. */
  lane: string;
  seconds: number;
}

/** Jobs of one BullMQ queue in one state, read at scrape time. */
export interface QueueDepth {
  queue: string;
  state: string;
  jobs: number;
  /** Age of the oldest job in this state, when it was read. */
  oldestSeconds?: number;
}

/** Live worker slots of one lane size (heartbeats in Redis). */
export interface LaneSlots {
  size: string;
  slots: number;
}

export interface ClusterState {
  queues: QueueDepth[];
  slots: LaneSlots[];
}

export interface ServerMetricsOptions {
  /** Reads queue depths and live worker slots from Redis; called at most once per `stateTtlMs`. */
  readClusterState: () => Promise<ClusterState>;
  /** @defaultValue 1000 */
  stateTtlMs?: number;
}

/** Everything the ServiceServer counts; every metric is defined here once, with its help text. */
export class ServerMetrics {
  private readonly requests: Counter<'route' | 'status'>;
  private readonly errors: Counter<'code'>;
  private readonly duration: Histogram<'route' | 'cache' | 'lane'>;
  private readonly coalesced: Counter<'route'>;
  private readonly overloadRefusals: Counter<'lane'>;
  private readonly rateLimited: Counter<'kind'>;
  private readonly bigLane: Counter<'urgency' | 'reason'>;
  private readonly batches: Counter;
  private readonly batchUrls: Counter<'result'>;

  constructor(
    readonly registry: Registry,
    options: ServerMetricsOptions,
  ) {
    const registers = [registry];
    this.requests = new Counter({ name: `${METRIC_PREFIX}http_requests_total`, help: 'HTTP requests answered, by route template and status code.', labelNames: ['route', 'status'], registers });
    this.errors = new Counter({
      name: `${METRIC_PREFIX}http_errors_total`,
      help: 'HTTP error answers by error code (the "error" field of the JSON answer); every code of the registry starts at 0.',
      labelNames: ['code'],
      registers,
    });
    this.duration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time from request to the last byte sent, by route template, cache result (hit, miss, coalesced, none) and lane.',
      labelNames: ['route', 'cache', 'lane'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.coalesced = new Counter({
      name: `${METRIC_PREFIX}coalesced_requests_total`,
      help: 'Misses that joined a job another request in this server was already waiting for, instead of queueing work.',
      labelNames: ['route'],
      registers,
    });
    this.overloadRefusals = new Counter({
      name: `${METRIC_PREFIX}overload_refusals_total`,
      help: 'Misses refused with 503 overloaded before anything was queued, because the estimated wait in the lane was too long.',
      labelNames: ['lane'],
      registers,
    });
    this.rateLimited = rateLimitedCounter(registry);
    this.bigLane = bigLaneCounter(registry);
    this.batches = new Counter({ name: `${METRIC_PREFIX}prefetch_batches_total`, help: 'fire_and_forget batches submitted.', registers });
    this.batchUrls = new Counter({
      name: `${METRIC_PREFIX}prefetch_urls_total`,
      help: 'URLs of fire_and_forget batches, by result: accepted, duplicate or rejected.',
      labelNames: ['result'],
      registers,
    });
    // Rare events start at 0, so the first one shows as an increase (a series born at 1 never does).
    for (const code of Object.keys(ERROR_CODES)) this.errors.inc({ code }, 0);
    for (const lane of LANES) this.overloadRefusals.inc({ lane }, 0);
    for (const result of BATCH_RESULTS) this.batchUrls.inc({ result }, 0);
    this.batches.inc(0);
    this.registerClusterState(cachedReading(options.readClusterState, options.stateTtlMs ?? 1_000));
  }

  observeRequest(request: ObservedRequest): void {
    this.requests.inc({ route: request.route, status: String(request.status) });
    if (request.code) this.errors.inc({ code: request.code });
    this.duration.observe({ route: request.route, cache: request.cache, lane: request.lane }, request.seconds);
    if (request.cache === 'coalesced') this.coalesced.inc({ route: request.route });
  }

  countOverloadRefusal(lane: string): void {
    this.overloadRefusals.inc({ lane });
  }

  countTenantRateLimited(): void {
    this.rateLimited.inc({ kind: 'tenant' });
  }

  /** A render the server starts in the big lane (header giant or predicted cost), so it never burns the normal budget. */
  countStartedInBigLane(urgency: string, reason: string): void {
    this.bigLane.inc({ urgency, reason });
  }

  countBatch(counts: { accepted: number; duplicate: number; rejected: number }): void {
    this.batches.inc();
    for (const result of BATCH_RESULTS) this.batchUrls.inc({ result }, counts[result]);
  }

  /** Queue depth and live slots are read from Redis when scraped (cached), never counted along. */
  private registerClusterState(read: () => Promise<ClusterState>): void {
    const registers = [this.registry];
    /** A gauge filled from the reading at each scrape; without Redis it has no series (and redis_up says why). */
    const fromReading = <L extends string>(name: string, help: string, labelNames: L[], fill: (gauge: Gauge<L>, state: ClusterState) => void) =>
      new Gauge<L>({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames,
        registers,
        async collect() {
          const state = await read().catch(() => null);
          this.reset();
          if (state) fill(this, state);
        },
      });
    fromReading(
      'queue_jobs',
      'Jobs in each queue and state, read from BullMQ at scrape time. Render queues: waiting = sync lane, prioritized = async lane. prefetch-backlog: URLs waiting in the tenant backlogs before the fetch queue.',
      ['queue', 'state'],
      (gauge, state) => state.queues.forEach((depth) => gauge.set({ queue: depth.queue, state: depth.state }, depth.jobs)),
    );
    fromReading(
      'queue_oldest_job_age_seconds',
      'Age of the oldest job waiting in each queue (for render queues: the sync lane): how long the next job has waited so far.',
      ['queue', 'state'],
      (gauge, state) =>
        state.queues.forEach((depth) => depth.oldestSeconds !== undefined && gauge.set({ queue: depth.queue, state: depth.state }, depth.oldestSeconds)),
    );
    fromReading('worker_slots_alive', 'Render slots of live workers per lane size (workers announce themselves every second in Redis).', ['size'], (gauge, state) =>
      state.slots.forEach((lane) => gauge.set({ size: lane.size }, lane.slots)),
    );
    new Gauge({
      name: `${METRIC_PREFIX}redis_up`,
      help: '1 when Redis answered the last scrape-time read of the queues, else 0.',
      registers,
      async collect() {
        this.set(await read().then(() => 1, () => 0));
      },
    });
  }
}
