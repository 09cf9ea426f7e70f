import type { ClientRequest } from 'node:http';
import { isIP, type Socket } from 'node:net';

/** The phases of one request that have their own budget; the total deadline is kept by the caller. */
export type TimeoutPhase = 'lookup' | 'connect' | 'secureConnect' | 'response';

/**
 * A phase that ran out of time. Shaped as net's own timeouts (`ETIMEDOUT`), with the phase as
 * `event`, so mapFetchError can say which step the origin was too slow at.
 */
export class PhaseTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(readonly event: TimeoutPhase) {
    super(`Timeout awaiting '${event}'.`);
    this.name = 'TimeoutError';
  }
}

export interface PhaseBudgets {
  /** Each of DNS lookup, TCP connect and TLS handshake. */
  connectTimeoutMs: number;
  /** From the request being sent to the response headers. */
  responseTimeoutMs: number;
}

/**
 * Arms the per-phase timers of one request (call it before `request.end()`) and calls `onTimeout`
 * when one runs out. A kept-alive socket is already connected, so only the response budget applies
 * to it. Returns a function that cancels every timer still pending, for when the request is settled
 * or abandoned.
 */
export function watchPhases(
  request: ClientRequest,
  url: URL,
  budgets: PhaseBudgets,
  onTimeout: (error: PhaseTimeoutError) => void,
): () => void {
  const timers = new Set<NodeJS.Timeout>();
  const arm = (phase: TimeoutPhase, ms: number): (() => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      onTimeout(new PhaseTimeoutError(phase));
    }, ms);
    timers.add(timer);
    return () => {
      clearTimeout(timer);
      timers.delete(timer);
    };
  };
  const cancelAll = (): void => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };

  request.once('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    // An IP literal never reaches the resolver: net emits no 'lookup' for it.
    const literal = isIP(url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname) !== 0;
    const timeConnect = (): void => void socket.once('connect', arm('connect', budgets.connectTimeoutMs));
    if (literal) {
      timeConnect();
    } else {
      socket.once('lookup', arm('lookup', budgets.connectTimeoutMs));
      socket.once('lookup', (error: Error | null) => {
        if (error === null) timeConnect();
      });
    }
    if (url.protocol === 'https:') {
      socket.once('connect', () => void socket.once('secureConnect', arm('secureConnect', budgets.connectTimeoutMs)));
    }
  });
  // The response budget starts once the request is written out (after connecting, on a fresh socket),
  // so a slow connect is blamed on the connect phase, not on the origin's answer.
  let answered = false;
  request.once('finish', () => {
    if (!answered) arm('response', budgets.responseTimeoutMs);
  });
  request.once('response', () => {
    answered = true;
    cancelAll();
  });
  request.once('close', cancelAll);
  return cancelAll;
}
