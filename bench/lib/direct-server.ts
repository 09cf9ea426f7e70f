import cluster from 'node:cluster';
import http from 'node:http';
import { loadConfig } from '@image-cloud/config';
import { configureSharp, probeImage, renderVariant } from '@image-cloud/imaging';
import { freePort } from '@image-cloud/testing';
import { forkListeningWorkers, killWorkers } from './cluster-workers';

/**
 * The baseline a queue-based cloud must come close to: an imgproxy-style server, one process per
 * core (node:cluster, connections shared round-robin), each fetching the origin with plain fetch
 * and rendering in-process with the cloud's own imaging code and settings, one render at a time.
 * No queue, no storage, no cache. GET /?url=<origin>&w=<px>&h=<px> → JPEG fitted inside w×h.
 */

const PORT_ENV = 'DIRECT_SERVER_PORT';

/** True in a process forked by startDirectServer: it must call serveDirectRequests() instead of the benchmark. */
export function isDirectServerWorker(): boolean {
  return cluster.isWorker && process.env[PORT_ENV] !== undefined;
}

/** The body of one direct-server process. */
export function serveDirectRequests(): void {
  // The cloud's defaults: limits, quality, libvips with one thread per render.
  const config = loadConfig({}, {});
  const renderOptions = { limits: { maxPixels: config.limits.maxPixels, maxFrames: config.limits.maxFrames }, quality: config.worker.quality, timeoutMs: config.worker.normalBudgetMs };
  configureSharp({ threadsPerJob: 1 });
  // One render at a time in this process, as one normal-lane worker per core renders.
  let renderQueue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const result = renderQueue.then(work, work);
    renderQueue = result.catch(() => undefined);
    return result;
  };
  const server = http.createServer(async (req, res) => {
    try {
      const query = new URL(req.url ?? '/', 'http://direct').searchParams;
      const origin = await fetch(query.get('url') ?? '');
      if (!origin.ok) throw new Error(`origin answered ${origin.status}`);
      const bytes = Buffer.from(await origin.arrayBuffer());
      const transform = { width: Number(query.get('w')), height: Number(query.get('h')), fit: 'inside' as const, format: 'jpeg' as const };
      const variant = await oneAtATime(async () => renderVariant(bytes, await probeImage(bytes, renderOptions.limits), transform, renderOptions));
      res.writeHead(200, { 'Content-Type': variant.contentType, 'Content-Length': variant.bytes.length }).end(variant.bytes);
    } catch (error) {
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end(String(error));
    }
  });
  server.listen(Number(process.env[PORT_ENV]), '127.0.0.1');
}

export interface DirectServer {
  /** URL of the direct server's variant of `originUrl`, fitted inside w×h. */
  variantUrl(originUrl: string, width: number, height: number): string;
  stop(): Promise<void>;
}

/** Forks `processes` direct-server processes of this very script (the benchmark must route them, see isDirectServerWorker). */
export async function startDirectServer(processes: number): Promise<DirectServer> {
  const port = await freePort();
  const workers = await forkListeningWorkers(processes, { [PORT_ENV]: String(port), UV_THREADPOOL_SIZE: '4' });
  return {
    variantUrl: (originUrl, width, height) => `http://127.0.0.1:${port}/?url=${encodeURIComponent(originUrl)}&w=${width}&h=${height}`,
    stop: () => killWorkers(workers),
  };
}
