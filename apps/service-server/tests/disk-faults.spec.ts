import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeImage } from '@image-cloud/imaging/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * DATA_DIR on a 2 MiB tmpfs, filled up and then remounted read-only: misses are answered 507
 * insufficient_storage with the cause logged at error level, /readyz fails while the store cannot
 * be written, stored images are still served, and everything recovers once space is back.
 * Mounting needs root (or CAP_SYS_ADMIN); without it the suite says so in one line and skips.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'image-cloud-disk-faults-'));
const FILLER = join(dataDir, 'filler');

function tryMount(): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dataDir], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
  }
}

const mountRefused = tryMount();
if (mountRefused) {
  process.stdout.write(`disk-faults tests not run: cannot mount a tmpfs as DATA_DIR (needs root): ${mountRefused}\n`);
  rmSync(dataDir, { recursive: true, force: true });
}
const describeMounted = mountRefused ? describe.skip : describe;

/** Fills the filesystem to the last byte: one big file, then whatever small ones still fit. */
function fillDisk(): void {
  try {
    writeFileSync(FILLER, Buffer.alloc(4 * 1024 * 1024, 1));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  for (let i = 0; i < 1000; i++) {
    try {
      writeFileSync(`${FILLER}-${i}`, Buffer.alloc(512, 1));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw error;
    }
  }
}

function freeDisk(): void {
  for (let i = 0; i < 1000; i++) rmSync(`${FILLER}-${i}`, { force: true });
  rmSync(FILLER, { force: true });
}

async function readyStatus(system: SystemUnderTest): Promise<number> {
  const response = await system.request('/readyz');
  await response.arrayBuffer();
  return response.status;
}

/** Polls /readyz until it says `status` (readiness is probed, at most about once a second). */
async function readyBecomes(system: SystemUnderTest, status: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < 50; i++) {
    last = await readyStatus(system);
    if (last === status) return last;
    await sleep(200);
  }
  return last;
}

describeMounted('a full or read-only DATA_DIR', () => {
  let system: SystemUnderTest;
  const logLines: string[] = [];

  beforeAll(async () => {
    system = await startSystem({ name: 'disk-faults', dataDir, logLines });
    for (const name of ['stored', 'full', 'readonly', 'after']) {
      system.origin.serveBytes(`${name}.jpg`, await makeImage({ width: 300, height: 200 }), 'image/jpeg');
    }
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
    try {
      execFileSync('umount', [dataDir], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', dataDir], { stdio: 'pipe' });
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('answers 507 insufficient_storage when the disk is full, logs ENOSPC at error level, fails readiness, keeps serving hits', async () => {
    const stored = await system.getImage('/bytes/stored.jpg', { resize_width: '100' });
    expect(stored.status).toBe(200);
    await bodyOf(stored);
    expect(await readyStatus(system)).toBe(200);

    fillDisk();
    try {
      const miss = await system.getImage('/bytes/full.jpg', { resize_width: '100' });
      expect(miss.status).toBe(507);
      expect(await miss.json()).toMatchObject({ error: 'insufficient_storage' });
      expect(miss.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await readyBecomes(system, 503)).toBe(503);

      const hit = await system.getImage('/bytes/stored.jpg', { resize_width: '100' });
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      await bodyOf(hit);

      const errors = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['level'] === 'error');
      expect(errors.some((line) => JSON.stringify(line).includes('ENOSPC'))).toBe(true);
    } finally {
      freeDisk();
    }
    expect(await readyBecomes(system, 200)).toBe(200);
    const after = await system.getImage('/bytes/full.jpg', { resize_width: '100' });
    expect(after.status).toBe(200);
    await bodyOf(after);
  }, 60_000);

  it('answers 507 when DATA_DIR is read-only, fails readiness, keeps serving hits, and recovers when writable again', async () => {
    execFileSync('mount', ['-o', 'remount,ro', dataDir]);
    try {
      const miss = await system.getImage('/bytes/readonly.jpg', { resize_width: '100' });
      expect(miss.status).toBe(507);
      expect(await miss.json()).toMatchObject({ error: 'insufficient_storage' });
      expect(await readyBecomes(system, 503)).toBe(503);

      const hit = await system.getImage('/bytes/stored.jpg', { resize_width: '100' });
      expect(hit.status).toBe(200);
      await bodyOf(hit);
      const errors = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['level'] === 'error');
      expect(errors.some((line) => JSON.stringify(line).includes('EROFS'))).toBe(true);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', dataDir]);
    }
    expect(await readyBecomes(system, 200)).toBe(200);
    const after = await system.getImage('/bytes/readonly.jpg', { resize_width: '100' });
    expect(after.status).toBe(200);
    await bodyOf(after);
  }, 60_000);
});
