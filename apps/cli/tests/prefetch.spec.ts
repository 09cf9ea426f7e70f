import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImage } from '@image-cloud/imaging/testing';
import {
  DIST_DIR,
  type OriginServer,
  TEST_REDIS_URL,
  deleteKeysWithPrefix,
  freePort,
  spawnBuiltApp,
  startOriginServer,
  stopProcesses,
  uniquePrefix,
  waitForHttp,
} from '@image-cloud/testing';

/** `image-cloud prefetch` against a real server and worker (the built bundles). */
const CLI = join(DIST_DIR, 'cli/main.js');

describe('image-cloud prefetch', () => {
  const prefix = uniquePrefix('cli-prefetch');
  const processes: ChildProcess[] = [];
  let origin: OriginServer;
  let dataDir: string;
  let base: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cli-prefetch-'));
    origin = await startOriginServer();
    origin.serveBytes('p.jpg', await makeImage({ width: 200, height: 150 }), 'image/jpeg');
    const configPath = join(dataDir, 'config.json');
    await writeFile(configPath, JSON.stringify({ allowPrivateOrigins: ['127.0.0.0/8'] }));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = { PORT: String(port), HOST: '127.0.0.1', REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: configPath, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' };
    processes.push(spawnBuiltApp('service-server', env));
    processes.push(spawnBuiltApp('image-worker', { ...env, WORKER_LANE: 'normal' }));
    await waitForHttp(`${base}/readyz`);
  }, 30_000);

  afterAll(async () => {
    await stopProcesses(processes);
    await origin?.close();
    await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('submits a file of URLs and follows the batch to completion', async () => {
    const file = join(dataDir, 'urls.txt');
    const urls = Array.from({ length: 25 }, (_, i) => origin.url(`/bytes/p.jpg?cli=${i}`));
    await writeFile(file, ['# product images', ...urls, urls[0], 'not a url', ''].join('\n'));
    // Not spawnSync: the origin runs in this process and must keep serving while the CLI waits.
    const cli = spawn(process.execPath, [CLI, 'prefetch', '--base', base, '--interval', '200', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = { stdout: '', stderr: '', status: null as number | null };
    cli.stdout!.on('data', (chunk) => (result.stdout += chunk));
    cli.stderr!.on('data', (chunk) => (result.stderr += chunk));
    [result.status] = await once(cli, 'exit');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/25 accepted, 1 duplicate, 1 rejected/);
    expect(result.stdout).toMatch(/url 27: must be an absolute http\(s\) URL/);
    expect(result.stdout).toMatch(/\[#{30}\] 100%  done 25\/25/);
    expect(result.stdout.trim().endsWith('complete')).toBe(true);
  }, 60_000);

  it('--placeholders has the layout placeholders computed ahead: image_info answers them from the cache', async () => {
    const file = join(dataDir, 'placeholders.txt');
    const url = origin.url('/bytes/p.jpg?cli=placeholders');
    await writeFile(file, `${url}\n`);
    const cli = spawn(process.execPath, [CLI, 'prefetch', '--base', base, '--interval', '200', '--placeholders', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    cli.stderr!.on('data', (chunk) => (stderr += chunk));
    const [status] = await once(cli, 'exit');
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    const info = await fetch(`${base}/image_info?url=${encodeURIComponent(url)}`);
    expect(info.headers.get('x-cache')).toBe('HIT');
    expect(await info.json()).toMatchObject({ displayWidth: 200, displayHeight: 150, dominantColor: expect.stringMatching(/^#[0-9a-f]{6}$/), thumbHash: expect.any(String) });
  }, 60_000);

  it('refuses an --interval that is not a number of milliseconds, before sending anything', () => {
    const result = spawnSync(process.execPath, [CLI, 'prefetch', '--base', base, '--interval', 'abc', join(dataDir, 'urls.txt')], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--interval must be a whole number of milliseconds');
  });
});
