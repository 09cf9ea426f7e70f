import type { FetchJob, LaneUrgency } from '@image-cloud/contracts';
import type { ImageLimits, ImageProbe, ImageSource } from '@image-cloud/imaging';
import type { ImageStorage, OriginalMeta } from '@image-cloud/storage';
import type { LocalSlotLine } from './local-slot-line';

/** Downloads an original; the origin fetcher and the peer fetcher both fit. */
export interface OriginalSource {
  fetch(url: string, options?: { signal?: AbortSignal }): Promise<{ bytes: Buffer; contentType?: string; etag?: string; lastModified?: string }>;
}

/** Who asks for a download slot: `parks: false`, a refused prefetch does not join the cluster's line of parked jobs (it waits in this process's line). */
export interface SlotWaiter {
  urgency: LaneUrgency;
  id: string;
  parks?: boolean;
}

/**
 * A held "one download per original" lease. Its key and owner token let the job's last round trip
 * (a batch's count) release it in the same script instead of a call of its own.
 */
export interface DownloadLease {
  readonly key: string;
  readonly token: string;
  release(): Promise<void>;
}

/** Cluster-wide "one download per original" leases (Redis in production). */
export interface DownloadLeases {
  tryAcquire(originalKey: string): Promise<DownloadLease | null>;
  isHeld(originalKey: string): Promise<boolean>;
  /**
   * Takes the lease and, in the same round trip, asks for a download slot of the URL's domain as
   * OriginSlots.tryAcquire does; null when another download holds the lease (then no slot is
   * taken). Optional: without it the lease and the slot are taken one after the other.
   */
  tryAcquireWithSlot?(originalKey: string, url: string, waiter: SlotWaiter): Promise<{ lease: DownloadLease; attempt: OriginSlotAttempt } | null>;
}

/** A held download slot of an origin domain. */
export interface OriginSlot {
  readonly pool: string;
  /** Keeps the slot for another download of the same domain in this process; false: release it. */
  handOver(): Promise<boolean>;
  /** `originAnswered`: the download succeeded, which ends a run of 429/503 answers. */
  release(originAnswered?: boolean): Promise<void>;
  /** The origin answered 429/503: no downloads from its domain for a while. */
  backOff(retryAfterSeconds?: number): Promise<number>;
}

export type OriginSlotAttempt =
  | { slot: OriginSlot }
  | { slot?: undefined; reason: 'saturated' | 'rate' | 'backoff'; waitMs: number; pool: string; cap: number; perSecond?: number };

/** Cluster-wide caps on parallel downloads per origin domain (Redis leases in production). */
export interface OriginSlots {
  /** The pool (domain) a URL counts against, and its limits. */
  poolOf(url: string): { pool: string; cap: number; perSecond?: number };
  tryAcquire(url: string, waiter: SlotWaiter): Promise<OriginSlotAttempt>;
}

/** Wake-ups when a download slot of a domain is freed anywhere in the cluster (its release announces it). */
export interface SlotReleases {
  /** Resolves when a slot of `pool` may have been freed, or after `timeoutMs`. */
  next(pool: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

export interface FetchPipelineDeps {
  storage: ImageStorage;
  origin: OriginalSource;
  /** Peer image clouds asked first when a job says use_alternative_clouds. */
  peers: { url: string; source: OriginalSource }[];
  leases: DownloadLeases;
  limits: ImageLimits;
  /** Reads the header and checks the input limits; a sandboxed render child in production. */
  probe: (source: ImageSource, limits: ImageLimits, options?: { placeholders?: boolean }) => Promise<ImageProbe>;
  /** How long to wait for another job's download of the same original. */
  downloadWaitMs: number;
  /** Per-domain download caps; without them downloads are not capped. */
  originSlots?: OriginSlots;
  /** Wake-ups for jobs waiting for a slot; without them waiting jobs poll. */
  slotReleases?: SlotReleases;
  /** How long a sync fetch waits for a slot of a saturated domain. */
  originSlotWaitMs: number;
  /**
   * Prefetches of one domain that may wait in this process's line for a slot (the rest park):
   * enough to keep the domain's slots busy, few enough that one saturated domain never holds all
   * the prefetch slots. @defaultValue the domain's cap (production: half the prefetch slots, at least the cap)
   */
  maxInLine?: number;
}

export interface FetchRunOptions {
  signal?: AbortSignal;
  /**
   * A done job hands its download lease back in the outcome instead of releasing it, for the
   * caller to release in the job's last round trip (a prefetch's batch count). @defaultValue false
   */
  keepLeaseWhenDone?: boolean;
  /** Names the job when it waits for a download slot, so a freed slot can wake it. */
  waiterId: string;
}

/** How a fetch job ends, besides failing with an ImageCloudError. */
export type FetchOutcome =
  /** `lease`: still held, with keepLeaseWhenDone; the caller releases it. */
  | { kind: 'done'; meta: OriginalMeta; lease?: DownloadLease }
  /** A prefetch whose domain has no slot for it now: park it (as a delayed job) for up to `delayMs`. */
  | { kind: 'park'; delayMs: number; reason: 'saturated' | 'rate' | 'backoff' };

/** State passed along the steps of one fetch job. */
export interface FetchState {
  job: FetchJob;
  deps: FetchPipelineDeps;
  options: FetchRunOptions;
  /** This process's downloads waiting for a slot, per domain. */
  line: LocalSlotLine;
  lease?: DownloadLease;
  slot?: OriginSlot;
  /** The refusal of a slot asked for together with the lease: the slot step's first answer. */
  slotRefusal?: Exclude<OriginSlotAttempt, { slot: OriginSlot }>;
  downloaded?: Awaited<ReturnType<OriginalSource['fetch']>>;
}
