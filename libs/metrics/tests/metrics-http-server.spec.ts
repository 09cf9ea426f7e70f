import { Counter } from 'prom-client';
import { createProcessRegistry, startMetricsHttpServer } from '@image-cloud/metrics';

describe('the metrics-only port', () => {
  it('answers GET /metrics, uncacheable, and nothing else', async () => {
    const registry = createProcessRegistry({ role: 'worker-big', index: 0 });
    new Counter({ name: 'port_test_total', help: 'test', registers: [registry] }).inc(7);
    const running = await startMetricsHttpServer(registry, 0, '127.0.0.1');
    try {
      const metrics = await fetch(`http://127.0.0.1:${running.port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('cache-control')).toBe('no-store');
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await metrics.text()).toContain('port_test_total{role="worker-big",index="0"} 7');

      const other = await fetch(`http://127.0.0.1:${running.port}/get_image?url=x`);
      expect(other.status).toBe(404);
      expect(await other.json()).toEqual({ error: 'not_found', message: 'This port serves GET /metrics only.' });
      const post = await fetch(`http://127.0.0.1:${running.port}/metrics`, { method: 'POST' });
      expect([post.status, post.headers.get('allow'), ((await post.json()) as { error: string }).error]).toEqual([405, 'GET, HEAD', 'method_not_allowed']);
    } finally {
      await running.close();
    }
  });
});
