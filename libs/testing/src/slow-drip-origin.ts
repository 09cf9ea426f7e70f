import type { ServerResponse } from 'node:http';
import { type OriginServer, TINY_JPEG } from './origin-server';

/**
 * A download that never finishes: the origin sends its headers at once, then one byte of a JPEG
 * every `everyMs`, announcing far more bytes than it will ever send: clients that wait on it
 * wait as long as the test wants (slow-origin isolation, shutdown drain, the benchmarks).
 */
export interface SlowDrip {
  /** The path served, e.g. `/drip-forever`; any query string makes a distinct URL. */
  readonly path: string;
  /** Ends every open drip (sockets destroyed) and answers 404 to any later request, so jobs end fast. */
  stop(): void;
}

export function serveSlowDrip(origin: OriginServer, options: { path?: string; everyMs?: number } = {}): SlowDrip {
  const path = options.path ?? '/drip-forever';
  const everyMs = options.everyMs ?? 100;
  const open = new Set<ServerResponse>();
  let stopped = false;
  origin.route(path, (_req, res) => {
    if (stopped) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('stopped\n');
      return;
    }
    open.add(res);
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': 1_000_000 });
    let sent = 0;
    const timer = setInterval(() => res.write(TINY_JPEG.subarray(sent % TINY_JPEG.length, (sent++ % TINY_JPEG.length) + 1)), everyMs);
    res.on('close', () => {
      clearInterval(timer);
      open.delete(res);
    });
  });
  return {
    path,
    stop() {
      stopped = true;
      for (const res of open) res.destroy();
      open.clear();
    },
  };
}
