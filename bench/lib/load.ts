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
        const response = await fetch(url);
        await response.arrayBuffer();
        status = response.status;
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
