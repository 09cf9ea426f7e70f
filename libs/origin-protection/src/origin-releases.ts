import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { originKeys } from './redis-keys';

/**
 * Wake-ups for downloads waiting for a slot of a domain: the slot's release script announces its
 * pool on one Redis channel, and every worker process wakes its waiters of that pool at once (they
 * then race for the slot in the slot script; the loser waits again). A missed notice costs a poll.
 */
export class OriginReleases {
  private readonly local = new EventEmitter();
  private started = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    this.local.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.subscriber.on('message', (channel: string, pool: string) => {
      if (channel === originKeys.releases(this.prefix)) this.local.emit(pool);
    });
    await this.subscriber.subscribe(originKeys.releases(this.prefix));
  }

  next(pool: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.local.off(pool, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.local.once(pool, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async close(): Promise<void> {
    this.local.removeAllListeners();
    if (this.started) await this.subscriber.unsubscribe().catch(() => undefined);
  }
}
