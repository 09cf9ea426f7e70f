import type { RequestHandler, Response } from 'express';
import { ImageCloudError } from '@image-cloud/errors';
import { sendError } from './error-response';

/**
 * A server being stopped keeps every client it has accepted an HTTP answer. From `begin()` on, new
 * requests (on connections kept alive) are refused at once; requests already in flight may finish
 * (the workers keep working while the server drains). `answerWaiting()` then answers those still
 * waiting 503 `unavailable`, so no client sees its connection cut when the grace ends.
 */
export class ShutdownDrain {
  private readonly inFlight = new Set<Response>();
  private draining = false;

  constructor(private readonly negativeCacheSeconds: number) {}

  /** Tracks every request; first in the chain after the request log, so refusals are logged too. */
  readonly middleware: RequestHandler = (_req, res, next) => {
    if (this.draining) {
      this.refuse(res);
      return;
    }
    this.inFlight.add(res);
    res.on('close', () => this.inFlight.delete(res));
    next();
  };

  begin(): void {
    this.draining = true;
  }

  /** Answers 503 every request whose answer has not started yet; returns how many. */
  answerWaiting(): number {
    let answered = 0;
    for (const res of this.inFlight) {
      if (res.headersSent) continue;
      this.refuse(res);
      answered++;
    }
    return answered;
  }

  private refuse(res: Response): void {
    // The client asks again on a fresh connection, which reaches another instance or this one restarted.
    res.setHeader('Connection', 'close');
    sendError(res, new ImageCloudError('unavailable', 'The server is shutting down; ask again in a moment.', { retryAfterSeconds: 1 }), this.negativeCacheSeconds);
  }
}
