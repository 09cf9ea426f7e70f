import { readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeNoiseImage } from '@image-cloud/imaging/testing';
import { scanStore } from '@image-cloud/storage';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * The workers keep DATA_DIR under `disk.maxBytes`: two workers share it (one runs each check), the
 * least recently used objects go, and an evicted image comes back as an ordinary miss.
 */

const BUDGET = 200_000;
let system: SystemUnderTest;
const logLines: string[] = [];

beforeAll(async () => {
  system = await startSystem({ name: 'disk-budget', logLines, config: { disk: { maxBytes: BUDGET, checkIntervalSeconds: 1 } } });
  for (let i = 0; i < 6; i++) system.origin.serveBytes(`photo-${i}.jpg`, await makeNoiseImage(200, 150), 'image/jpeg');
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

/** Makes everything stored look last used an hour ago (eviction spares what was used in the last minute). */
function ageStore(dir: string): void {
  const past = Date.now() / 1000 - 3600;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) utimesSync(join(entry.parentPath, entry.name), past, past);
  }
}

it('evicts down to 90% of the budget in the background, and an evicted image is fetched again as a miss', async () => {
  for (let i = 0; i < 6; i++) {
    const response = await system.getImage(`/bytes/photo-${i}.jpg`, { resize_width: '120' });
    expect(response.status).toBe(200);
    await bodyOf(response);
  }
  const imagesDir = join(system.config.dataDir, 'images');
  expect((await scanStore(imagesDir)).totalBytes).toBeGreaterThan(BUDGET);

  ageStore(imagesDir);
  // The run's log line comes once it has also announced its evictions to the servers' memory tiers.
  const evictingRuns = () => logLines.filter((line) => line.includes('"disk budget checked"') && /"evictedVariants":[1-9]/.test(line));
  let total = Number.POSITIVE_INFINITY;
  for (let waited = 0; waited < 20_000 && (total > 0.9 * BUDGET || evictingRuns().length === 0); waited += 250) {
    await sleep(250);
    total = (await scanStore(imagesDir)).totalBytes;
  }
  expect(total).toBeLessThanOrEqual(0.9 * BUDGET);
  expect(evictingRuns().length).toBeGreaterThan(0);

  const again = await system.getImage('/bytes/photo-0.jpg', { resize_width: '120' });
  expect(again.status).toBe(200);
  expect(again.headers.get('x-cache')).toBe('MISS');
  await bodyOf(again);
}, 90_000);
