import { Counter, Histogram } from 'prom-client';
import { type ProcessMetrics, scrapeText } from './merge-metrics';
import { createProcessRegistry } from './process-registry';

function registryWithTraffic(role: string, index: number, jobs: number) {
  const registry = createProcessRegistry({ role, index });
  new Counter({ name: 'test_jobs_total', help: 'jobs', labelNames: ['lane'], registers: [registry] }).inc({ lane: 'sync-normal' }, jobs);
  new Histogram({ name: 'test_seconds', help: 'time', buckets: [1], registers: [registry] }).observe(jobs);
  return registry;
}

describe('scrapeText', () => {
  it('serves one process alone as it is', async () => {
    const registry = registryWithTraffic('server', 0, 1);
    const { body } = await scrapeText(registry);
    expect(body).toContain('test_jobs_total{lane="sync-normal",role="server",index="0"} 1');
  });

  it('keeps every process apart by role and index: nothing summed, averaged or dropped', async () => {
    const server = registryWithTraffic('server', 0, 1);
    const workers = await Promise.all([registryWithTraffic('worker-normal', 0, 2), registryWithTraffic('worker-normal', 1, 3)].map((r) => r.getMetricsAsJSON()));
    const { body, contentType } = await scrapeText(server, workers as ProcessMetrics[]);
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain('test_jobs_total{lane="sync-normal",role="server",index="0"} 1');
    expect(body).toContain('test_jobs_total{lane="sync-normal",role="worker-normal",index="0"} 2');
    expect(body).toContain('test_jobs_total{lane="sync-normal",role="worker-normal",index="1"} 3');
    expect(body).toContain('test_seconds_bucket{le="+Inf",role="worker-normal",index="1"} 1');
    expect(body).toContain('test_seconds_sum{role="worker-normal",index="1"} 3');
    // prom-client's aggregator would drop these (omit) or average them across processes.
    expect(body.match(/^process_start_time_seconds\{/gm)).toHaveLength(3);
    expect(body.match(/^nodejs_eventloop_lag_seconds\{/gm)).toHaveLength(3);
    expect(body.match(/^# HELP test_jobs_total /gm)).toHaveLength(1);
  });
});
