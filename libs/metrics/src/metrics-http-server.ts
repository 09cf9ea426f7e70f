import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { scrapeText } from './merge-metrics';

export interface RunningMetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A metrics-only HTTP port (METRICS_PORT) for a process that takes no work over the network: it
 * answers GET /metrics and nothing else, so a worker still listens on nothing that takes work.
 */
export async function startMetricsHttpServer(registry: Registry, port: number, host = '0.0.0.0'): Promise<RunningMetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ error: 'not_found', message: 'This port serves GET /metrics only.' }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Allow: 'GET, HEAD' });
      res.end(JSON.stringify({ error: 'method_not_allowed', message: `/metrics answers GET and HEAD, not ${req.method}.` }));
      return;
    }
    scrapeText(registry).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: Error) => {
        res.writeHead(500, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ error: 'internal_error', message: `Metrics could not be collected: ${error.message}` }));
      },
    );
  });
  server.listen(port, host);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
