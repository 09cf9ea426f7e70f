import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/** One process's metrics as prom-client's `getMetricsAsJSON()` gives them (plain data, fit for IPC). */
export type ProcessMetrics = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Puts several processes' metrics into one registry to serialize. Every series carries its
 * process's `role` and `index`, so no two processes' series collide: summing per label set (the
 * `sum` aggregator) keeps each one as it is, and nothing is averaged or dropped (prom-client's
 * own defaults would average the event-loop lag and omit the start time of every process).
 */
export function mergeProcessMetrics(processes: ProcessMetrics[]): Registry {
  const summed = processes.map((metrics) => metrics.map((metric) => ({ ...metric, aggregator: 'sum' as const })));
  return AggregatorRegistry.aggregate(summed);
}

/** The Prometheus text of this process's registry, with the other processes' series when there are any. */
export async function scrapeText(registry: Registry, others: ProcessMetrics[] = []): Promise<{ contentType: string; body: string }> {
  if (others.length === 0) return { contentType: registry.contentType, body: await registry.metrics() };
  const merged = mergeProcessMetrics([(await registry.getMetricsAsJSON()) as ProcessMetrics, ...others]);
  return { contentType: merged.contentType, body: await merged.metrics() };
}
