import { readFileSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { type OriginServer, startOriginServer } from '@image-cloud/testing';
import { CHROMIUM_PATH } from './chromium';
import { type LaunchedCloud, launchCloud } from './launched-cloud';
import { type InstantResult, type RealPrometheus, startPrometheus } from './real-prometheus';

/**
 * Dashboards that are proven, not drawn: `npm start`, a real Prometheus scraping it every second,
 * a short mixed load, then every PromQL expression of every panel of every dashboard must parse and
 * return data. A panel whose query returns nothing after this traffic is a broken panel.
 */

const DASHBOARDS_DIR = resolve(__dirname, '../../../docker/grafana/dashboards');
const MAIN_TOKEN = 'dashboards-main-token-0123456789';
const TINY_TOKEN = 'dashboards-tiny-token-0123456789';

interface Panel {
  title: string;
  type: string;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Array<{ expr: string; refId: string }>;
  panels?: Panel[];
}

function panelsOf(file: string): Panel[] {
  const dashboard = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as { panels: Panel[] };
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== 'row');
}

/** Grafana's variables, as Grafana would fill them in for a few minutes of data scraped every second. */
function asPrometheusSees(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '10m').replaceAll('$__interval', '2s');
}

const dashboards = readdirSync(DASHBOARDS_DIR).filter((file) => file.endsWith('.json'));
const expressions = dashboards.flatMap((file) =>
  panelsOf(file).flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `${file} › ${panel.title} › ${target.refId}`, expr: target.expr }))),
);

describe('Grafana dashboards against a real Prometheus', () => {
  let origin: OriginServer;
  let cloud: LaunchedCloud;
  let prometheus: RealPrometheus;
  const get = (path: string, token = MAIN_TOKEN) => fetch(`${cloud.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  const image = (originPath: string, params: Record<string, string> = {}) => `/get_image?${new URLSearchParams({ url: origin.url(originPath), ...params })}`;

  beforeAll(async () => {
    origin = await startOriginServer();
    origin.serveBytes('photo.jpg', await makeImage({ width: 480, height: 360 }), 'image/jpeg');
    origin.serveBytes('notes.txt', Buffer.from('not an image\n'), 'text/plain');
    origin.serveBytes('giant.png', await makeImage({ width: 5000, height: 4500, format: 'png' }), 'image/png');
    origin.serveBytes('heavy.jpg', await makeNoiseImage(3000, 3000), 'image/jpeg');
    cloud = await launchCloud('dashboards', {
      tenants: {
        main: { token: MAIN_TOKEN, requestsPerSecond: 10_000, burst: 10_000 },
        tiny: { token: TINY_TOKEN, requestsPerSecond: 1, burst: 1 },
      },
      allowPrivateOrigins: ['127.0.0.0/8'],
      // "localhost" is the capped domain of the prefetch batch; the rest of the load uses 127.0.0.1.
      domains: { default: 4, localhost: 1 },
      // The budget reroute within a short test; admission refuses as soon as anything waits ahead.
      worker: { normalBudgetMs: 300, bigLanePixels: 20_000_000 },
      server: { overloadWaitMs: 1 },
    });
    prometheus = await startPrometheus(new URL(cloud.url).host);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await cloud?.stop();
    await origin?.close();
  }, 120_000);

  it('has a unit on every panel and uses the datasource variable and $__rate_interval', () => {
    expect(dashboards.length).toBeGreaterThan(0);
    for (const file of dashboards) {
      const text = readFileSync(join(DASHBOARDS_DIR, file), 'utf8');
      const dashboard = JSON.parse(text) as { templating: { list: Array<{ type: string; name: string }> } };
      expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ type: 'datasource', name: 'datasource' }));
      for (const panel of panelsOf(file)) {
        expect([panel.title, panel.fieldConfig?.defaults?.unit]).toEqual([panel.title, expect.any(String)]);
        expect([panel.title, JSON.stringify(panel)]).toEqual([panel.title, expect.stringContaining('${datasource}')]);
      }
      // Every rate and increase over a Grafana interval, never a hard-coded window.
      for (const { expr } of expressions) expect(expr).not.toMatch(/\[\d+[smhd]\]/);
    }
  });

  it('gives every PromQL expression of every panel data after a short mixed load', async () => {
    const statuses: Record<string, number[]> = {};
    const record = async (name: string, responses: Promise<Response>[]) => {
      const answered = await Promise.all(responses);
      statuses[name] = answered.map((response) => response.status);
      await Promise.all(answered.map((response) => response.arrayBuffer()));
      return answered;
    };

    await record('miss', [get(image('/bytes/photo.jpg', { resize_width: '100' }))]);
    await record('hit', [get(image('/bytes/photo.jpg', { resize_width: '100' }))]);
    await record('coalesced', [1, 2, 3].map(() => get(image('/slow?ms=800', { resize_width: '50' }))));
    await record('origin 404', [get(image('/status/404', { resize_width: '100' }))]);
    await record('not an image', [get(image('/bytes/notes.txt', { resize_width: '100' }))]);
    await record('bad parameter', [get(image('/bytes/photo.jpg', { resize_width: 'wide' }))]);
    const [giant] = await record('header giant', [get(image('/bytes/giant.png', { resize_width: '200' }))]);
    const [heavy] = await record('budget reroute', [get(image('/bytes/heavy.jpg', { resize_width: '2800', format_when_resize: 'webp' }))]);
    await record('rate-limited tenant', [1, 2, 3].map(() => get(image('/bytes/photo.jpg'), TINY_TOKEN)));

    // A prefetch batch against the capped domain: one download at a time, the others park.
    const urls = Array.from({ length: 6 }, (_, i) => origin.url(`/slow?ms=400&n=${i}`).replace('127.0.0.1', 'localhost'));
    const batch = await fetch(`${cloud.url}/fire_and_forget`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${MAIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ urls }),
    });
    const { batchId } = (await batch.json()) as { batchId: string };
    for (let complete = false; !complete; await sleep(200)) complete = ((await (await get(`/fire_and_forget/${batchId}`)).json()) as { complete: boolean }).complete;

    // Overload: four clients asking for new sizes of a stored image, each at its own pace (so
    // admission reads the queue while others wait), until admission refuses one.
    let refused = 0;
    let size = 100;
    const client = async () => {
      while (refused === 0 && size < 600) {
        const response = await get(image('/bytes/photo.jpg', { resize_width: String(size++) }));
        await response.arrayBuffer();
        if (response.status === 503) refused++;
      }
    };
    await Promise.all([client(), client(), client(), client()]);

    expect(statuses['miss']).toEqual([200]);
    expect(statuses['coalesced']).toEqual([200, 200, 200]);
    expect([statuses['origin 404'], statuses['not an image'], statuses['bad parameter']]).toEqual([[404], [415], [400]]);
    expect([giant!.headers.get('x-lane'), heavy!.headers.get('x-lane')]).toEqual(['big', 'big']);
    expect(statuses['rate-limited tenant']).toContain(429);
    expect(refused).toBeGreaterThan(0);

    // Prometheus scrapes every second: wait until every expression has data, then assert on all at once.
    let results: Array<{ where: string; expr: string; result: InstantResult }> = [];
    const giveUpAt = Date.now() + 60_000;
    do {
      await sleep(1_000);
      results = await Promise.all(expressions.map(async ({ where, expr }) => ({ where, expr, result: await prometheus.query(asPrometheusSees(expr)) })));
    } while (results.some(({ result }) => !hasData(result)) && Date.now() < giveUpAt);

    const broken = results.filter(({ result }) => !hasData(result)).map(({ where, expr, result }) => `${where}: ${result.error ?? 'no data'}\n    ${expr}`);
    expect(broken).toEqual([]);
    expect(results.length).toBe(expressions.length);

    const screenshots = process.env['STATUS_SCREENSHOT_DIR'];
    if (screenshots) await capturePrometheusGraphs(prometheus.url, screenshots);
  }, 240_000);
});

/** Parsed, and at least one series with a number (a histogram quantile over no traffic is NaN: no data on a panel either). */
function hasData(result: InstantResult): boolean {
  return result.status === 'success' && (result.data?.result ?? []).some((series) => Number.isFinite(Number(series.value[1])));
}

/** Prometheus's own graph page for a few of the panels' queries (Grafana has no package here), for the README. */
async function capturePrometheusGraphs(prometheusUrl: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // tab 0: the graph; tab 1: the table of current values (the weekly error review reads counts).
    const queries = {
      'prometheus-qps-by-route': { expr: 'sum by (route) (rate(image_cloud_http_requests_total{route!~"/metrics|/status|/healthz|/readyz"}[1m]))', tab: '0' },
      'prometheus-errors-by-code': { expr: 'sort_desc(sum by (code) (increase(image_cloud_http_errors_total[10m])))', tab: '1' },
      'prometheus-queue-depth': { expr: 'max by (queue, state) (image_cloud_queue_jobs)', tab: '0' },
    };
    for (const [name, { expr, tab }] of Object.entries(queries)) {
      const params = new URLSearchParams({ 'g0.expr': expr, 'g0.tab': tab, 'g0.range_input': '1m', 'g0.stacked': '0' });
      await page.goto(`${prometheusUrl}/graph?${params}`);
      await page.waitForSelector('canvas, .graph-chart, svg', { timeout: 20_000 }).catch(() => undefined);
      await sleep(1_500);
      await page.screenshot({ path: join(dir, `${name}.png`) });
    }
  } finally {
    await browser.close();
  }
}
