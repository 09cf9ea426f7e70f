import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { domainLabeller } from './domain-label';
import { bigLaneCounter, rateLimitedCounter, startedAtZero } from './shared-counters';
import { DURATION_BUCKETS, METRIC_PREFIX } from './metric-prefix';

/** What a finished job reports (the worker runtime's job event, structurally). */
export interface ObservedJob {
  stage: 'fetch' | 'render';
  /** The render lane (`sync-normal`, …) or `sync-fetch`/`async-fetch`. */
  lane: string;
  outcome: 'ok' | 'failed' | 'rerouted' | 'parked';
  durationMs: number;
  /** Time of the render itself, for renders that ran. */
  renderMs?: number;
  error?: { code: string };
  rerouteReason?: string;
}

export interface ObservedDownload {
  url: string;
  /** `ok`, or the error registry's code of the failure. */
  outcome: string;
  seconds: number;
}

export interface WorkerMetricsOptions {
  /** Origin domains listed in CONFIG `domains`: the only values of the `domain` label besides `other`. */
  domains: Iterable<string>;
  /** Render slots of this process (worker.concurrency) and fetch slots (fetch.concurrency + prefetchConcurrency). */
  slots: { render: number; fetch: number };
  /** Jobs running right now per stage, read at scrape time. */
  activeJobs?: () => { render: number; fetch: number };
}

/** Everything an image-worker process counts; every metric is defined here once, with its help text. */
export class WorkerMetrics {
  private readonly jobs: Counter<'stage' | 'lane' | 'outcome'>;
  private readonly failures: Counter<'stage' | 'lane' | 'code'>;
  private readonly reroutes: Counter<'urgency' | 'reason'>;
  private readonly jobDuration: Histogram<'stage' | 'lane' | 'outcome'>;
  private readonly renderDuration: Histogram<'lane'>;
  private readonly busy: Counter<'stage'>;
  private readonly downloads: Counter<'domain' | 'outcome'>;
  private readonly downloadDuration: Histogram<'domain'>;
  private readonly childrenReplaced: Counter<'reason'>;
  private readonly rateLimited: Counter<'kind'>;
  private readonly domainOf: (url: string) => string;

  constructor(
    readonly registry: Registry,
    options: WorkerMetricsOptions,
  ) {
    const registers = [registry];
    this.domainOf = domainLabeller(options.domains);
    this.jobs = new Counter({
      name: `${METRIC_PREFIX}jobs_total`,
      help: 'Jobs that ended an attempt, by stage, lane and outcome: ok, failed, rerouted (left the normal lane) or parked (a prefetch waiting for its domain).',
      labelNames: ['stage', 'lane', 'outcome'],
      registers,
    });
    this.failures = new Counter({ name: `${METRIC_PREFIX}job_failures_total`, help: 'Failed job attempts by stage, lane and error code.', labelNames: ['stage', 'lane', 'code'], registers });
    this.reroutes = bigLaneCounter(registry);
    this.jobDuration = new Histogram({
      name: `${METRIC_PREFIX}job_duration_seconds`,
      help: 'Time a job attempt ran in a worker (download or render with its storage steps), by stage, lane and outcome.',
      labelNames: ['stage', 'lane', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.renderDuration = new Histogram({
      name: `${METRIC_PREFIX}render_duration_seconds`,
      help: 'Time of the render itself (decode, transform, encode in the render child), by lane; downloads are not in it.',
      labelNames: ['lane'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.busy = new Counter({
      name: `${METRIC_PREFIX}worker_busy_seconds_total`,
      help: 'Seconds this process spent running jobs, by stage; divided by worker_slots it is the utilisation.',
      labelNames: ['stage'],
      registers,
    });
    this.downloads = new Counter({
      name: `${METRIC_PREFIX}origin_downloads_total`,
      help: 'Downloads from origins by domain (configured domains by name, every other host as "other") and outcome (ok or the error code).',
      labelNames: ['domain', 'outcome'],
      registers,
    });
    this.downloadDuration = new Histogram({
      name: `${METRIC_PREFIX}origin_download_duration_seconds`,
      help: 'Time of a download from an origin, redirects included, by domain (configured domains, else "other").',
      labelNames: ['domain'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    const childrenReplaced = new Counter({
      name: `${METRIC_PREFIX}render_children_replaced_total`,
      help: 'Render child processes replaced, by reason: budget (killed at the lane budget) or crash.',
      labelNames: ['reason'],
      registers,
    });
    this.childrenReplaced = startedAtZero(childrenReplaced, [{ reason: 'budget' }, { reason: 'crash' }]);
    this.rateLimited = rateLimitedCounter(registry);
    const slots = new Gauge({ name: `${METRIC_PREFIX}worker_slots`, help: 'Jobs this process may run at once, by stage.', labelNames: ['stage'], registers });
    slots.set({ stage: 'render' }, options.slots.render);
    slots.set({ stage: 'fetch' }, options.slots.fetch);
    const activeJobs = options.activeJobs;
    new Gauge({
      name: `${METRIC_PREFIX}worker_active_jobs`,
      help: 'Jobs this process runs right now, by stage.',
      labelNames: ['stage'],
      registers,
      collect() {
        if (!activeJobs) return;
        const active = activeJobs();
        this.set({ stage: 'render' }, active.render);
        this.set({ stage: 'fetch' }, active.fetch);
      },
    });
  }

  observeJob(job: ObservedJob): void {
    const seconds = job.durationMs / 1000;
    this.jobs.inc({ stage: job.stage, lane: job.lane, outcome: job.outcome });
    this.jobDuration.observe({ stage: job.stage, lane: job.lane, outcome: job.outcome }, seconds);
    this.busy.inc({ stage: job.stage }, seconds);
    if (job.renderMs !== undefined) this.renderDuration.observe({ lane: job.lane }, job.renderMs / 1000);
    if (job.outcome === 'failed') this.failures.inc({ stage: job.stage, lane: job.lane, code: job.error?.code ?? 'internal_error' });
    if (job.outcome === 'rerouted') this.reroutes.inc({ urgency: job.lane.split('-')[0]!, reason: job.rerouteReason ?? 'budget' });
    if (job.outcome === 'parked') this.rateLimited.inc({ kind: 'domain' });
  }

  observeDownload(download: ObservedDownload): void {
    const domain = this.domainOf(download.url);
    this.downloads.inc({ domain, outcome: download.outcome });
    this.downloadDuration.observe({ domain }, download.seconds);
  }

  countChildReplaced(reason: string): void {
    this.childrenReplaced.inc({ reason });
  }
}
