import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium } from 'playwright-core';
import { makeImage } from '@image-cloud/imaging/testing';
import { type OriginServer, startOriginServer } from '@image-cloud/testing';
import { CHROMIUM_PATH } from './chromium';
import { type LaunchedCloud, launchCloud } from './launched-cloud';

/** GET /status in real headless Chromium, against `npm start` with real workers, Redis and an origin. */
describe('the status page', () => {
  let cloud: LaunchedCloud;
  let origin: OriginServer;
  let browser: Browser;
  let loadRunning = true;
  let load: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    origin = await startOriginServer();
    origin.serveBytes('photo.jpg', await makeImage({ width: 480, height: 360 }), 'image/jpeg');
    cloud = await launchCloud('status-page', { allowPrivateOrigins: ['127.0.0.0/8'], server: { processes: 2 } });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
  }, 90_000);

  afterAll(async () => {
    loadRunning = false;
    await load;
    await browser?.close();
    await cloud?.stop();
    await origin?.close();
  }, 60_000);

  /** Hits, misses (new sizes) and 404s from two clients, until the test ends. */
  function startLoad(): Promise<void> {
    let n = 0;
    const client = async () => {
      while (loadRunning) {
        const i = n++;
        const target = i % 5 === 4 ? origin.url('/status/404') : origin.url('/bytes/photo.jpg');
        const size = i % 3 === 0 ? 100 + (i % 200) : 100;
        await fetch(`${cloud.url}/get_image?url=${encodeURIComponent(target)}&resize_width=${size}`).then((response) => response.arrayBuffer(), () => undefined);
      }
    };
    return Promise.all([client(), client()]).then(() => undefined);
  }

  it('shows requests per second, error codes, cache hit ratio, lanes and workers, and they change while load runs', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    const response = await page.goto(`${cloud.url}/status`);
    expect(response!.status()).toBe(200);
    expect(response!.headers()['cache-control']).toBe('no-store');
    // Polled from here: the page's CSP (rightly) forbids the eval that page.waitForFunction needs.
    const until = async (selector: string, wanted: (text: string) => boolean) => {
      const giveUpAt = Date.now() + 30_000;
      let text = '';
      while (!wanted((text = (await page.textContent(selector)) ?? '')) && Date.now() < giveUpAt) await sleep(200);
      expect([selector, text, wanted(text)]).toEqual([selector, text, true]);
    };
    await until('#updated', (text) => text !== 'never');

    load = startLoad();
    const total = async () => Number(await page.textContent('#requests-total'));
    await until('#rps', (text) => Number(text) > 0);
    const first = await total();
    await until('#requests-total', (text) => Number(text) > first);

    await until('#errors tbody', (text) => /origin_not_found/.test(text));
    await until('#hit-ratio-total', (text) => /%/.test(text));
    await until('#workers tbody', (text) => /worker-big-0/.test(text));
    const lanes = await page.textContent('#lanes tbody');
    expect(lanes).toMatch(/render-normal/);
    expect(lanes).toMatch(/prefetch/);
    const workers = await page.textContent('#workers tbody');
    expect(workers).toMatch(/worker-normal-0/);
    expect(workers).toMatch(/worker-big-0/);
    expect(await page.textContent('#redis')).toBe('up');
    // One normal-lane and one big-lane worker of one slot each, however many server processes report them.
    const liveSlots = (row: number) => page.locator('#workers tbody tr').nth(row).locator('td').nth(1).textContent();
    expect([await liveSlots(0), await liveSlots(1)]).toEqual(['1', '1']);

    const screenshots = process.env['STATUS_SCREENSHOT_DIR'];
    if (screenshots) {
      await mkdir(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, 'status-page.png'), fullPage: true });
    }
    expect(errors).toEqual([]);
  }, 120_000);
});
