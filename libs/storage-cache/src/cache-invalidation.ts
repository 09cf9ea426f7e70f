import { randomBytes } from 'node:crypto';
import { createRedisClient } from '@image-cloud/redis-address';
import type { Redis } from 'ioredis';

/** What one host tells the others: drop your copies of this original's objects. */
interface InvalidationNotice {
  /** The sender, so a process ignores its own notices (publish has told its handlers already). */
  host: string;
  originalKey: string;
}

export interface CacheInvalidationHandlers {
  /** This process or another one changed or deleted objects of this original. */
  onInvalidate(originalKey: string): void;
  /** Notices may have been missed (the subscription was down): every cached object is suspect. */
  onMissedNotices(): void;
  onError?(error: Error): void;
}

/**
 * Redis pub/sub between the processes sharing one store (the hosts of one S3 bucket and prefix,
 * the processes of one DATA_DIR), on a channel named after the store's location. Pub/sub delivers only to those listening, so whenever the subscription is
 * (re)established the handlers hear {@link CacheInvalidationHandlers.onMissedNotices}: a host that
 * lost Redis for a while empties its cache rather than serve something deleted meanwhile.
 */
export class CacheInvalidation {
  private readonly host = randomBytes(8).toString('hex');
  private readonly publisher: Redis;
  /** Null for a process that only announces: it keeps nothing a notice could make stale. */
  private readonly subscriber: Redis | null;
  private closed = false;
  private subscribing: Promise<void> = Promise.resolve();

  private constructor(
    redisUrl: string,
    readonly channel: string,
    private readonly handlers: CacheInvalidationHandlers,
    listen: boolean,
  ) {
    // Fail-fast publisher: a delete must not hang on Redis; the notice is best effort (see publish).
    this.publisher = createRedisClient(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: 'image-cloud:storage-cache' });
    const report = (error: Error) => this.handlers.onError?.(error);
    this.publisher.on('error', report);
    if (!listen) {
      this.subscriber = null;
      return;
    }
    this.subscriber = createRedisClient(redisUrl, { maxRetriesPerRequest: null, connectionName: 'image-cloud:storage-cache-notices' });
    this.subscriber.on('error', report);
    this.subscriber.on('message', (_channel: string, message: string) => this.receive(message));
    // ioredis resubscribes by itself after a reconnect; 'ready' follows every (re)connection.
    this.subscriber.on('ready', () => {
      if (!this.closed) this.handlers.onMissedNotices();
    });
  }

  /**
   * Subscribes to `image-cloud:storage-invalidate:<location>`. Not awaited: a process starts (and
   * serves what it can) while Redis is away; the subscription is made once Redis answers, and
   * whatever was cached before it is dropped then, as notices may have been missed meanwhile.
   * `listen: false`: only announces this process's changes, for a process that keeps nothing of
   * the store in memory (an image worker on DATA_DIR): every notice of the cluster would wake it
   * for nothing (one per stored original, in every such process). @defaultValue listen: true
   */
  static start(redisUrl: string, location: string, handlers: CacheInvalidationHandlers, options: { listen?: boolean } = {}): CacheInvalidation {
    const invalidation = new CacheInvalidation(redisUrl, `image-cloud:storage-invalidate:${location}`, handlers, options.listen ?? true);
    if (!invalidation.subscriber) return invalidation;
    invalidation.subscribing = invalidation.subscriber.subscribe(invalidation.channel).then(
      () => {
        if (!invalidation.closed) handlers.onMissedNotices();
      },
      (error: Error) => handlers.onError?.(error),
    );
    return invalidation;
  }

  /** Resolves once the first subscription is in place (or failed). */
  subscribed(): Promise<void> {
    return this.subscribing;
  }

  /**
   * Tells this process's handlers at once, and every other process by Redis, to drop the
   * original's objects. Best effort: the change is already in the store, and a process that misses
   * the notice because Redis is down empties its caches when its subscription comes back.
   */
  async publish(originalKey: string): Promise<void> {
    // Here synchronously: once a delete resolves, nothing of this process serves the image.
    this.handlers.onInvalidate(originalKey);
    const notice: InvalidationNotice = { host: this.host, originalKey };
    await this.publisher.publish(this.channel, JSON.stringify(notice)).catch((error: Error) => this.handlers.onError?.(error));
  }

  close(): void {
    this.closed = true;
    this.publisher.disconnect();
    this.subscriber?.disconnect();
  }

  private receive(message: string): void {
    let notice: Partial<InvalidationNotice>;
    try {
      notice = JSON.parse(message) as Partial<InvalidationNotice>;
    } catch {
      return;
    }
    if (notice.host === this.host || typeof notice.originalKey !== 'string') return;
    this.handlers.onInvalidate(notice.originalKey);
  }
}
