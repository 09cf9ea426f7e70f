import { makeImage } from '@image-cloud/imaging/testing';
import { type OriginServer, startOriginServer } from '@image-cloud/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** Metrics of a real server and real workers (Redis, render children, origins on loopback). */

const TOKEN = 'metrics-test-token-0123456789';
const TINY_TENANT_TOKEN = 'metrics-tiny-token-0123456789';

/** Series of a Prometheus text exposition: one per sample line. */
function seriesOf(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

/** The value of the one series with exactly this name and these labels (any order), or 0 when absent. */
function valueOf(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = seriesOf(text).find((series) => {
    const [head] = series.split(' ');
    if (!head!.startsWith(`${name}{`) && head !== name) return false;
    return wanted.every((label) => head!.includes(label));
  });
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Every label value of every series. */
function labelValuesOf(text: string): string[] {
  return [...text.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]!);
}

describe('metrics of the server and the workers', () => {
  let system: SystemUnderTest;
  /** A second origin on every loopback address (127.0.0.0/8), so one test can use 500 distinct hosts. */
  let anyHostOrigin: OriginServer;
  const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };

  beforeAll(async () => {
    system = await startSystem({
      name: 'metrics',
      config: {
        tenants: {
          main: { token: TOKEN, requestsPerSecond: 10_000, burst: 10_000 },
          tiny: { token: TINY_TENANT_TOKEN, requestsPerSecond: 1, burst: 1 },
        },
        domains: { default: 4, localhost: 8 },
        worker: { bigLanePixels: 4_000_000 },
      },
    });
    anyHostOrigin = await startOriginServer({ host: '0.0.0.0' });
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 320, height: 240 }), 'image/jpeg');
    system.origin.serveBytes('giant.png', await makeImage({ width: 2500, height: 2000, format: 'png' }), 'image/png');
    system.origin.serveBytes('notes.txt', Buffer.from('not an image at all\n'), 'text/plain');
    anyHostOrigin.serveBytes('tiny.jpg', await makeImage({ width: 64, height: 48 }), 'image/jpeg');
  }, 60_000);

  afterAll(async () => {
    await anyHostOrigin?.close();
    await system?.stop();
  });

  const get = (path: string, init: RequestInit = auth) => system.request(path, init);
  const imagePath = (url: string, params: Record<string, string> = {}) => `/get_image?${new URLSearchParams({ url, ...params })}`;
  const scrapeAll = async () => {
    const server = await (await get('/metrics', {})).text();
    return `${server}\n${await system.worker.registry.metrics()}\n${await system.bigWorker.registry.metrics()}`;
  };

  it('serves Prometheus text at /metrics without a token, never cacheable', async () => {
    const response = await get('/metrics', {});
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(text).toContain('# TYPE image_cloud_http_requests_total counter');
    expect(text).toMatch(/^process_resident_memory_bytes\{role="server",index="0"\} \d+/m);
    expect(valueOf(text, 'image_cloud_redis_up', {})).toBe(1);
    expect(valueOf(text, 'image_cloud_worker_slots_alive', { size: 'normal' })).toBe(1);

    // A known path with the wrong method, and no path at all: the JSON error shape, counted under bounded routes.
    const post = await get('/metrics', { method: 'POST' });
    expect([post.status, post.headers.get('allow'), await post.json()]).toEqual([405, 'GET, HEAD', { error: 'method_not_allowed', message: 'POST is not allowed on /metrics; use GET, HEAD.' }]);
    expect((await get('/wp-admin/setup.php', {})).status).toBe(404);
    const after = await (await get('/metrics', {})).text();
    expect(valueOf(after, 'image_cloud_http_requests_total', { route: '/metrics', status: '405' })).toBe(1);
    expect(valueOf(after, 'image_cloud_http_requests_total', { route: 'other', status: '404' })).toBe(1);
  });

  it('counts requests by route, status and error code, cache results, lanes, batches and the workers’ jobs and downloads', async () => {
    const photo = system.origin.url('/bytes/photo.jpg').replace('127.0.0.1', 'localhost');
    const slow = system.origin.url('/slow?ms=600');
    expect((await get(imagePath(photo, { resize_width: '100' }))).status).toBe(200);
    expect((await get(imagePath(photo, { resize_width: '100' }))).headers.get('x-cache')).toBe('HIT');
    // Three requests for one variant at once: one job, the later two joined it.
    const together = await Promise.all([1, 2, 3].map(() => get(imagePath(slow, { resize_width: '20' }))));
    expect(together.map((response) => response.status)).toEqual([200, 200, 200]);
    const giant = await get(imagePath(system.origin.url('/bytes/giant.png'), { resize_width: '100' }));
    expect([giant.status, giant.headers.get('x-lane')]).toEqual([200, 'big']);
    expect((await get(imagePath(system.origin.url('/status/404')))).status).toBe(404);
    expect((await get(imagePath(system.origin.url('/bytes/notes.txt'), { resize_width: '10' }))).status).toBe(415);
    expect((await get(imagePath(photo, { resize_width: 'wide' }))).status).toBe(400);
    const tiny = { headers: { Authorization: `Bearer ${TINY_TENANT_TOKEN}` } };
    const limited = await Promise.all([1, 2, 3].map(() => get(imagePath(photo), tiny)));
    expect(limited.map((response) => response.status)).toContain(429);
    const batch = await get('/fire_and_forget', { method: 'POST', headers: { ...auth.headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ urls: [`${photo}?batch`, `${photo}?batch`, 'ftp://nope'] }) });
    expect(batch.status).toBe(202);
    for (const response of [...together, giant, ...limited]) await bodyOf(response);

    const text = await scrapeAll();
    expect(valueOf(text, 'image_cloud_http_requests_total', { route: '/get_image', status: '200' })).toBeGreaterThanOrEqual(6);
    expect(valueOf(text, 'image_cloud_http_errors_total', { code: 'origin_not_found' })).toBe(1);
    expect(valueOf(text, 'image_cloud_http_errors_total', { code: 'unsupported_format' })).toBe(1);
    expect(valueOf(text, 'image_cloud_http_errors_total', { code: 'bad_parameter' })).toBe(1);
    expect(valueOf(text, 'image_cloud_http_requests_total', { route: '/get_image', status: '429' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'image_cloud_rate_limited_total', { kind: 'tenant' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'image_cloud_http_request_duration_seconds_count', { route: '/get_image', cache: 'hit', lane: 'normal' })).toBe(1);
    expect(valueOf(text, 'image_cloud_http_request_duration_seconds_count', { route: '/get_image', cache: 'miss', lane: 'big' })).toBe(1);
    expect(valueOf(text, 'image_cloud_coalesced_requests_total', { route: '/get_image' })).toBe(2);
    expect(valueOf(text, 'image_cloud_reroutes_total', { urgency: 'sync', reason: 'header' })).toBe(1);
    expect(valueOf(text, 'image_cloud_prefetch_batches_total', {})).toBe(1);
    expect(valueOf(text, 'image_cloud_prefetch_urls_total', { result: 'accepted' })).toBe(1);
    expect(valueOf(text, 'image_cloud_prefetch_urls_total', { result: 'duplicate' })).toBe(1);
    expect(valueOf(text, 'image_cloud_prefetch_urls_total', { result: 'rejected' })).toBe(1);

    // Workers: job outcomes per lane, render time apart from download time, downloads by bounded domain.
    expect(valueOf(text, 'image_cloud_jobs_total', { role: 'worker-normal', stage: 'render', lane: 'sync-normal', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(text, 'image_cloud_jobs_total', { role: 'worker-big', stage: 'render', lane: 'sync-big', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'image_cloud_render_duration_seconds_count', { lane: 'sync-normal' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(text, 'image_cloud_origin_downloads_total', { domain: 'localhost', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'image_cloud_origin_downloads_total', { domain: 'other', outcome: 'origin_not_found' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'image_cloud_job_failures_total', { stage: 'fetch', code: 'origin_not_found' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'image_cloud_worker_busy_seconds_total', { role: 'worker-normal', stage: 'render' })).toBeGreaterThan(0);
  }, 60_000);

  it('keeps the number of series bounded after 500 origin hosts and 500 URLs; no URL, host, token or batch id in a label', async () => {
    const hostUrl = (i: number) => anyHostOrigin.url('/bytes/tiny.jpg').replace('0.0.0.0', `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
    const pathUrl = (i: number) => `${anyHostOrigin.url('/bytes/tiny.jpg').replace('0.0.0.0', '127.0.0.1')}?n=${i}`;
    const load = async (paths: string[]) => {
      let next = 0;
      const client = async () => {
        while (next < paths.length) {
          const response = await get(paths[next++]!);
          await bodyOf(response);
          expect(response.status).toBe(200);
        }
      };
      await Promise.all(Array.from({ length: 8 }, client));
    };
    const traffic = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => from + k).flatMap((i) => [
        `/image_info?url=${encodeURIComponent(hostUrl(i))}`,
        imagePath(pathUrl(i), { resize_width: '32' }),
      ]);

    // A few of each kind first, so every label combination this traffic makes exists already.
    await load(traffic(0, 10));
    const ours = (text: string) => seriesOf(text).filter((series) => series.startsWith('image_cloud_'));
    const before = await scrapeAll();
    await load(traffic(10, 500));
    const after = await scrapeAll();

    // Our series do not grow with traffic at all; the process metrics only by a few GC kinds.
    const names = (text: string) => ours(text).map((series) => series.slice(0, series.lastIndexOf(' ')));
    expect(names(after).filter((series) => !names(before).includes(series))).toEqual([]);
    expect(seriesOf(after).length).toBeLessThan(seriesOf(before).length + 100);
    const values = labelValuesOf(after);
    expect(values.filter((value) => /127\.0\.[12]\.|\/bytes\/|tiny\.jpg|https?:|token/.test(value))).toEqual([]);
  }, 180_000);
});
