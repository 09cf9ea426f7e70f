import type { Server } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { ImageCloudError } from '@image-cloud/errors';
import { sendError } from './error-response';

export interface DrainTiming {
  /** When the requests still waiting (for a job, for capacity) are answered 503. */
  answerWaitingAfterMs: number;
  /** When every connection left is cut, answered or not. */
  graceMs: number;
}

/**
 * A server being stopped gives every client it has accepted an HTTP answer. Once `drainAndClose`
 * runs, new requests are refused 503 `unavailable` at once; requests in flight may finish (the
 * workers keep working while the server drains), and those still waiting at `answerWaitingAfterMs`
 * are answered 503 too, so no client sees its connection cut when the grace ends.
 */
export class ShutdownDrain {
  private readonly inFlight = new Set<Response>();
  private draining = false;
  private onIdle: (() => void) | undefined;

  constructor(private readonly negativeCacheSeconds: number) {}

  /** Whether new requests are refused now (answers outside the express chain leave them to it). */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Tracks every request; first in the chain after the request log, so refusals are logged too. */
  readonly middleware: RequestHandler = (_req, res, next) => {
    this.inFlight.add(res);
    res.on('close', () => {
      this.inFlight.delete(res);
      if (this.inFlight.size === 0) this.onIdle?.();
    });
    if (this.draining) this.refuse(res);
    else next();
  };

  /**
   * Drains, then closes the server. The listener stays open while requests are in flight: Node's
   * server.close() also cuts connections accepted but not read yet, which would reset clients
   * that connected before the signal; meanwhile late requests get a clear 503 instead.
   */
  async drainAndClose(server: Server, timing: DrainTiming): Promise<{ answeredWaiting: number }> {
    this.draining = true;
    // An answer still to come leaves on a connection that then closes, instead of staying kept alive.
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    let answeredWaiting = 0;
    const answer = setTimeout(() => (answeredWaiting = this.answerWaiting()), timing.answerWaitingAfterMs);
    const force = setTimeout(() => server.closeAllConnections(), timing.graceMs);
    try {
      if (this.inFlight.size > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
      clearTimeout(answer);
      // Stops listening and closes the kept-alive connections, now all idle.
      await new Promise<void>((resolve) => server.close(() => resolve()));
    } finally {
      clearTimeout(answer);
      clearTimeout(force);
    }
    return { answeredWaiting };
  }

  /** Answers 503 every request whose answer has not started yet; returns how many. */
  private answerWaiting(): number {
    let answered = 0;
    for (const res of this.inFlight) {
      if (res.headersSent) continue;
      this.refuse(res);
      answered++;
    }
    return answered;
  }

  private refuse(res: Response): void {
    // The client asks again on a fresh connection, which reaches another instance or this one
    // restarted. Not overload: nothing may keep this answer (a CDN would serve it for a minute).
    res.setHeader('Connection', 'close');
    const error = new ImageCloudError('unavailable', 'The server is shutting down; ask again in a moment.', { retryAfterSeconds: 1 });
    sendError(res, error, this.negativeCacheSeconds, 'no-store');
  }
}
