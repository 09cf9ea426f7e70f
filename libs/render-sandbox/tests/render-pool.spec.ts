import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Transform } from '@image-cloud/contracts';
import { probeImage } from '@image-cloud/imaging';
import { decodeImage, makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { RenderPool } from '../src';

const CHILD = resolve(__dirname, '../../../dist/image-worker/render-child.js');
const limits = { maxPixels: 50_000_000, maxFrames: 300 };
const small: Transform = { width: 100, fit: 'inside', format: 'jpeg' };

describe('RenderPool', () => {
  let pool: RenderPool;
  const replaced: string[] = [];

  beforeAll(async () => {
    pool = new RenderPool({ childScript: CHILD, size: 2, onChildReplaced: (reason) => replaced.push(reason) });
    await pool.ready();
  });

  afterAll(async () => {
    await pool.close();
  });

  it('renders in a child process', async () => {
    const bytes = await makeImage({ width: 400, height: 200 });
    const variant = await pool.render({ bytes }, await probeImage(bytes, limits), small, { limits, quality: 80, timeoutMs: 5000 });
    expect(await decodeImage(variant.bytes)).toMatchObject({ format: 'jpeg', width: 100, height: 50 });
  });

  it('never runs more renders at once than it has slots', async () => {
    const bytes = await makeImage({ width: 1200, height: 900 });
    const probe = await probeImage(bytes, limits);
    await Promise.all(Array.from({ length: 8 }, () => pool.render({ bytes }, probe, small, { limits, quality: 80, timeoutMs: 5000 })));
    expect(pool.stats.maxActive).toBe(2);
    expect(pool.stats.active).toBe(0);
  });

  it('really stops a render over budget: kills its child, and the slot serves the next image', async () => {
    const heavy = await makeNoiseImage(3000, 3000);
    const started = Date.now();
    await expect(
      pool.render({ bytes: heavy }, await probeImage(heavy, limits), { width: 2800, fit: 'inside', format: 'webp' }, { limits, quality: 80, timeoutMs: 200 }),
    ).rejects.toMatchObject({ code: 'processing_timeout', status: 504 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(replaced).toContain('budget');

    const bytes = await makeImage({ width: 300, height: 300 });
    const probe = await probeImage(bytes, limits);
    const variants = await Promise.all([1, 2].map(() => pool.render({ bytes }, probe, small, { limits, quality: 80, timeoutMs: 5000 })));
    expect(variants.map((v) => v.width)).toEqual([100, 100]);
  });

  it('replaces a child that died while idle, and keeps serving', async () => {
    const before = replaced.filter((reason) => reason === 'crash').length;
    const victim = pool.pids[0]!;
    process.kill(victim, 'SIGKILL');
    for (let waited = 0; pool.pids.includes(victim) && waited < 5_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect(pool.pids).not.toContain(victim);
    const bytes = await makeImage({ width: 300, height: 300 });
    const probe = await probeImage(bytes, limits);
    const variants = await Promise.all([1, 2, 3].map(() => pool.render({ bytes }, probe, small, { limits, quality: 80, timeoutMs: 5000 })));
    expect(variants.map((v) => v.width)).toEqual([100, 100, 100]);
    expect(replaced.filter((reason) => reason === 'crash').length).toBe(before + 1);
  });

  it('reads a file source itself, and the header too when no probe is given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'render-pool-'));
    try {
      const bytes = await makeImage({ width: 400, height: 300, format: 'png' });
      const path = join(dir, 'original.bin');
      await writeFile(path, bytes);
      const variant = await pool.render({ path, size: bytes.length }, null, small, { limits, quality: 80, timeoutMs: 5000 });
      expect(await decodeImage(variant.bytes)).toMatchObject({ format: 'jpeg', width: 100, height: 75 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says the original was removed when its file is gone or not the size the meta promised', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'render-pool-'));
    try {
      const bytes = await makeImage({ width: 40, height: 30 });
      const path = join(dir, 'original.bin');
      await expect(pool.render({ path, size: bytes.length }, null, small, { limits, quality: 80, timeoutMs: 5000 })).rejects.toMatchObject({ code: 'unavailable' });
      await writeFile(path, bytes);
      await expect(pool.render({ path, size: bytes.length + 1 }, null, small, { limits, quality: 80, timeoutMs: 5000 })).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses in the child an image whose header breaks the limits when it reads the header itself', async () => {
    const bytes = await makeImage({ width: 400, height: 300 });
    await expect(pool.render({ bytes }, null, small, { limits: { maxPixels: 1000, maxFrames: 1 }, quality: 80, timeoutMs: 5000 })).rejects.toMatchObject({ code: 'image_too_large' });
  });

  it('passes the image errors of the child through', async () => {
    const bytes = await makeImage({ width: 600, height: 400 });
    const truncated = bytes.subarray(0, Math.floor(bytes.length / 2));
    await expect(pool.render({ bytes: truncated }, await probeImage(truncated, limits), small, { limits, quality: 80, timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'image_corrupt',
    });
  });
});

/** CPU seconds a live process has used (Linux /proc, 10 ms resolution); 0 once it is gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** SIGKILLs the pool's child once it has worked `cpuSeconds` past `from` (it is rendering); resolves with its pid. */
async function killWhileRendering(pool: RenderPool, from: number, cpuSeconds = 0.1): Promise<number> {
  const pid = pool.pids[0]!;
  while (cpuSecondsOf(pid) < from + cpuSeconds) await new Promise((r) => setTimeout(r, 10));
  process.kill(pid, 'SIGKILL');
  return pid;
}

describe('RenderPool when its child dies under a render', () => {
  let pool: RenderPool;
  let dir: string;
  let source: { path: string; size: number };
  const replaced: string[] = [];
  const heavy: Transform = { width: 2900, fit: 'inside', format: 'webp' };

  beforeAll(async () => {
    pool = new RenderPool({ childScript: CHILD, size: 1, onChildReplaced: (reason) => replaced.push(reason) });
    await pool.ready();
    dir = await mkdtemp(join(tmpdir(), 'render-pool-crash-'));
    const bytes = await makeNoiseImage(3000, 3000);
    source = { path: join(dir, 'original.bin'), size: bytes.length };
    await writeFile(source.path, bytes);
  }, 30_000);

  afterAll(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('renders once more in a fresh child when the child is killed mid-render', async () => {
    const idle = cpuSecondsOf(pool.pids[0]!);
    const rendering = pool.render(source, null, heavy, { limits, quality: 80, timeoutMs: 120_000 });
    const victim = await killWhileRendering(pool, idle);
    const variant = await rendering;
    expect(variant).toMatchObject({ format: 'webp', width: 2900 });
    expect(pool.pids).not.toContain(victim);
    expect(replaced).toEqual(['crash']);
  }, 120_000);

  it('fails a render whose child dies twice as image_corrupt, final', async () => {
    const idle = cpuSecondsOf(pool.pids[0]!);
    const rendering = pool.render(source, null, heavy, { limits, quality: 80, timeoutMs: 120_000 });
    rendering.catch(() => undefined);
    const first = await killWhileRendering(pool, idle);
    while (pool.pids[0] === first) await new Promise((r) => setTimeout(r, 10));
    await pool.ready();
    await killWhileRendering(pool, cpuSecondsOf(pool.pids[0]!));
    await expect(rendering).rejects.toMatchObject({ code: 'image_corrupt', status: 422, negativelyCacheable: true, retryable: false });

    // The slot has a fresh child again and serves the next image.
    const bytes = await makeImage({ width: 300, height: 300 });
    expect((await pool.render({ bytes }, null, small, { limits, quality: 80, timeoutMs: 5000 })).width).toBe(100);
  }, 120_000);
});
