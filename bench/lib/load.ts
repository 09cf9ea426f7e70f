import http from 'node:http';

/** Sends one GET, reads the whole body and gives the status. */
export type Getter = (url: string) => Promise<number>;

/** Node's fetch (undici), one pool per origin. */
export const fetchGetter: Getter = async (url) => {
  const response = await fetch(url);
  await response.arrayBuffer();
  return response.status;
};

/**
 * The leanest client Node has: node:http with a keep-alive agent holding at most `sockets`
 * connections per origin. What it reaches is about the most any client can on this machine.
 */
export function keepAliveGetter(sockets: number): Getter {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  return (url) =>
    new Promise((resolve, reject) => {
      http
        .get(url, { agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
        })
        .on('error', reject);
    });
}

/** Closed-loop load: `concurrency` clients each send the next request as soon as the last one ended. */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  latenciesMs: number[];
  statuses: Record<number, number>;
}

export async function runLoad(
  urls: string[],
  concurrency: number,
  label: (url: string) => string = () => 'all',
  onRequestStart?: (index: number) => void,
  get: Getter = fetchGetter,
): Promise<Map<string, LoadResult>> {
  const byLabel = new Map<string, LoadResult>();
  let next = 0;
  const started = performance.now();
  const client = async () => {
    for (;;) {
      const index = next++;
      if (index >= urls.length) return;
      const url = urls[index];
      onRequestStart?.(index);
      const t0 = performance.now();
      let status = 0;
      try {
        status = await get(url);
      } catch {
        status = -1;
      }
      const key = label(url);
      const result = byLabel.get(key) ?? { requests: 0, errors: 0, seconds: 0, perSecond: 0, latenciesMs: [], statuses: {} };
      result.requests++;
      if (status !== 200) result.errors++;
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      result.latenciesMs.push(performance.now() - t0);
      byLabel.set(key, result);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  for (const result of byLabel.values()) {
    result.seconds = seconds;
    result.perSecond = result.requests / seconds;
  }
  return byLabel;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
