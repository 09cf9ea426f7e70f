import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeNoiseImage } from '@image-cloud/imaging/testing';
import { descendantsOf } from './process-tree';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * A render child SIGKILLed mid-render (found from outside, in /proc, as the child of this test's
 * in-process workers that burns CPU): once, the render is retried in a fresh child and the client
 * gets its image; every time, the second death is final, 422 image_corrupt, and the next request
 * is answered from the negative cache without a new render.
 */

/** A child that just started burns this much CPU loading Node and sharp (0.2–0.3 s measured); more is a render. */
const STARTUP_CPU_SECONDS = 0.8;
/** An idle child that burns this much more is rendering. */
const RENDERING_CPU_SECONDS = 0.1;

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Watches the sandbox children of this process (render and probe children of both workers) and
 * SIGKILLs any that is rendering: a child known idle before that used more CPU since, or a child
 * started since that used more than its start-up costs.
 */
function renderKiller(times: number): { killed: number[]; stop(): void } {
  const idleCpu = new Map(descendantsOf(process.pid).map((pid) => [pid, cpuSecondsOf(pid)]));
  const killed: number[] = [];
  const timer = setInterval(() => {
    if (killed.length >= times) return;
    for (const pid of descendantsOf(process.pid)) {
      const cpu = cpuSecondsOf(pid);
      const idle = idleCpu.get(pid);
      const rendering = idle === undefined ? cpu >= STARTUP_CPU_SECONDS : cpu >= idle + RENDERING_CPU_SECONDS;
      if (!rendering || killed.includes(pid)) continue;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
      return;
    }
  }, 20);
  return { killed, stop: () => clearInterval(timer) };
}

let system: SystemUnderTest;

beforeAll(async () => {
  system = await startSystem({
    name: 'render-crash',
    config: {
      server: { waitTimeoutMs: 120_000, pollIntervalMs: 200 },
      worker: { normalBudgetMs: 100_000, bigBudgetMs: 100_000 },
    },
  });
  // Noise keeps the encoder busy: a render of seconds, so the kill lands mid-render.
  const noise = await makeNoiseImage(3000, 3000);
  system.origin.serveBytes('once.jpg', noise, 'image/jpeg');
  system.origin.serveBytes('always.jpg', noise, 'image/jpeg');
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

/** Stores the original first (the fetch stage's probe child must not be mistaken for a render). */
async function storeOriginal(path: string): Promise<void> {
  const response = await system.getImage(path, { no_image: 'true' });
  expect(response.status).toBe(200);
  await bodyOf(response);
  await sleep(300); // let the probe child settle, so its CPU counts as idle
}

it('retries a render whose child was SIGKILLed once, and the client gets its image', async () => {
  await storeOriginal('/bytes/once.jpg');
  const killer = renderKiller(1);
  try {
    const response = await system.getImage('/bytes/once.jpg', { resize_width: '2900', format_when_resize: 'webp' });
    expect(killer.killed).toHaveLength(1);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    await bodyOf(response);
  } finally {
    killer.stop();
  }
}, 180_000);

it('fails a render whose child dies every time as 422 image_corrupt, answered next from the negative cache', async () => {
  await storeOriginal('/bytes/always.jpg');
  const killer = renderKiller(10);
  try {
    const response = await system.getImage('/bytes/always.jpg', { resize_width: '2900', format_when_resize: 'webp' });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ error: 'image_corrupt' });
    expect(killer.killed).toHaveLength(2);

    const jobsBefore = await system.jobsCreated();
    const again = await system.getImage('/bytes/always.jpg', { resize_width: '2900', format_when_resize: 'webp' });
    expect(again.status).toBe(422);
    expect(await again.json()).toMatchObject({ error: 'image_corrupt' });
    expect(await system.jobsCreated()).toBe(jobsBefore);
    expect(killer.killed).toHaveLength(2);
  } finally {
    killer.stop();
  }
}, 180_000);
