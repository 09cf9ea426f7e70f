import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { orUnavailable } from '@image-cloud/job-queue';
import { defineRedisScript } from '@image-cloud/redis-scripts';
import pushLua from './commands/prefetch-backlog-push-3.lua';
import takeLua from './commands/prefetch-backlog-take-2.lua';

const pushScript = defineRedisScript<[number, number, number]>('prefetchBacklogPush', 3, pushLua);
const takeScript = defineRedisScript<string[]>('prefetchBacklogTake', 2, takeLua);

/** One prefetch waiting in a backlog: the job (id included) is derived from the URL when it is fed. */
export interface BacklogEntry {
  tenant: string;
  batchId: string;
  url: string;
  /** The batch asked for layout placeholders (fire_and_forget `placeholders: true`). */
  placeholders: boolean;
}

export type BacklogPush = { refused: false; added: number; duplicates: number } | { refused: true; waiting: number };

/** The tenant's fair-share key in the fetch queue and its backlog's name in open mode (no tenants). */
export const OPEN_TENANT = 'open';

/**
 * An entry's first word: the batch id, with `+p` when the batch asked for placeholders (batch ids
 * are base64url, so `+` cannot be part of one).
 */
function entryHeader(batchId: string, placeholders: boolean): string {
  return placeholders ? `${batchId}+p` : batchId;
}

/** What the Lua scripts key a URL by in the `queued` set (first 20 hex digits of its sha1). */
function queuedMember(url: string): string {
  return createHash('sha1').update(url).digest('hex').slice(0, 20);
}

/**
 * Per-tenant compact prefetch backlogs in Redis: a list of `batchId url` strings per tenant (see entryHeader) (about
 * 100 bytes a URL instead of a BullMQ job hash of 1.5 KB), a set marking which URLs wait in some
 * backlog (duplicates across batches), and a ring of the tenants with something waiting, which the
 * feeder walks round-robin. Keys are built inside the scripts from the prefix: one Redis, not a cluster.
 */
export class PrefetchBacklog {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private backlogKey(tenant: string): string {
    return `${this.backlogPrefix()}${tenant}`;
  }

  private backlogPrefix(): string {
    return `${this.prefix}:prefetch-backlog:`;
  }

  private get queuedKey(): string {
    return `${this.prefix}:prefetch-queued`;
  }

  private get tenantsKey(): string {
    return `${this.prefix}:prefetch-tenants`;
  }

  /** URLs waiting in the tenant's backlog. */
  async waiting(tenant: string): Promise<number> {
    return orUnavailable(() => this.redis.llen(this.backlogKey(tenant)));
  }

  /** URLs waiting in all backlogs (each is marked once in the `queued` set). */
  async waitingInAll(): Promise<number> {
    return this.redis.scard(this.queuedKey);
  }

  /**
   * Appends `urls` (canonical) of a batch unless they wait in a backlog already. With `capCheck`,
   * refused when the backlog plus `requestSize` (these URLs and the rest of their request) would
   * exceed `cap`; without it, never refused. `placeholders`: the batch asked for them.
   */
  async push(tenant: string, batchId: string, urls: string[], capCheck: { cap: number; requestSize: number } | null, placeholders = false): Promise<BacklogPush> {
    const [cap, requestSize] = capCheck ? [capCheck.cap, capCheck.requestSize] : [0, -1];
    const header = entryHeader(batchId, placeholders);
    const [added, duplicates, before] = await orUnavailable(() =>
      pushScript(this.redis, [this.backlogKey(tenant), this.queuedKey, this.tenantsKey], [tenant, cap, requestSize, header, ...urls]),
    );
    return added < 0 ? { refused: true, waiting: before } : { refused: false, added, duplicates };
  }

  /** Takes up to `count` entries, one of each tenant in turn. */
  async take(count: number): Promise<BacklogEntry[]> {
    if (count <= 0) return [];
    const flat = await takeScript(this.redis, [this.tenantsKey, this.queuedKey], [this.backlogPrefix(), count]);
    const entries: BacklogEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const entry = flat[i + 1]!;
      const space = entry.indexOf(' ');
      const [batchId, flags] = entry.slice(0, space).split('+');
      entries.push({ tenant: flat[i]!, batchId: batchId!, url: entry.slice(space + 1), placeholders: flags === 'p' });
    }
    return entries;
  }

  /** Puts taken entries back at the head of their backlogs (their jobs could not be queued). */
  async putBack(entries: BacklogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const multi = this.redis.multi();
    for (const entry of [...entries].reverse()) {
      multi.lpush(this.backlogKey(entry.tenant), `${entryHeader(entry.batchId, entry.placeholders)} ${entry.url}`).sadd(this.queuedKey, queuedMember(entry.url));
    }
    for (const tenant of new Set(entries.map((entry) => entry.tenant))) multi.lrem(this.tenantsKey, 0, tenant).rpush(this.tenantsKey, tenant);
    await multi.exec();
  }
}
