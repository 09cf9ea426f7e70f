import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeImage, makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { canPinCpus } from '@image-cloud/local-cluster';
import { type OriginServer, TEST_REDIS_URL, deleteKeysWithPrefix, freePort, startOriginServer, uniquePrefix, waitForHttp } from '@image-cloud/testing';

/** The built launcher as `npm start` runs it: real child processes, real Redis, real origin. */
const ROOT = resolve(__dirname, '../../..');

function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}
const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
function environment(pid: number): Record<string, string> {
  const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}
/** Every process below `pid`, children first. */
const descendantsOf = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...safely(() => descendantsOf(child), [])]);
function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback; // the process ended while we looked
  }
}
/** Still running: a zombie has ended, it only waits for its parent to collect it. */
function isRunning(pid: number): boolean {
  const stat = safely<string | undefined>(() => readFileSync(`/proc/${pid}/stat`, 'utf8'), undefined);
  return stat !== undefined && stat[stat.lastIndexOf(')') + 2] !== 'Z';
}
/** Waits (bounded) until none of `pids` runs; returns those still running. */
async function stillRunningAfter(pids: number[], timeoutMs: number): Promise<number[]> {
  const giveUpAt = Date.now() + timeoutMs;
  while (pids.some(isRunning) && Date.now() < giveUpAt) await new Promise((done) => setTimeout(done, 200));
  return pids.filter(isRunning).map((pid) => pid);
}
const allowedCpus = (pid: number) => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
/** Field 19 of /proc/<pid>/stat, counted after the command name (which may contain spaces). */
const niceness = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
};

describe('npm start (the launcher)', () => {
  let launcher: ChildProcess;
  let origin: OriginServer;
  let dataDir: string;
  let output = '';
  const prefix = uniquePrefix('launcher');

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'launcher-'));
    origin = await startOriginServer();
    origin.serveBytes('photo.jpg', await makeImage({ width: 640, height: 480 }), 'image/jpeg');
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ allowPrivateOrigins: ['127.0.0.0/8'], worker: { processes: 2, bigProcesses: 1 } }));
  }, 60_000);

  afterAll(async () => {
    // The launcher leads its own process group: whatever happened, nothing it started survives the test.
    if (launcher?.pid) {
      try {
        process.kill(-launcher.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await origin?.close();
    await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The built launcher on `port`, leading its own process group, with everything it and its children write passed to `onOutput`. */
  function startLauncher(port: number, onOutput: (chunk: string) => void): ChildProcess {
    const child = spawn(process.execPath, ['dist/launcher/main.js'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: join(dataDir, 'config.json'), QUEUE_PREFIX: prefix, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout!.on('data', (chunk) => onOutput(String(chunk)));
    child.stderr!.on('data', (chunk) => onOutput(String(chunk)));
    return child;
  }

  it('starts server and workers, serves a resized image, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    launcher = startLauncher(port, (chunk) => (output += chunk));

    await waitForHttp(`http://127.0.0.1:${port}/readyz`, 20_000);
    // Misses are answered 503 (no live worker) until the workers have announced themselves.
    const until = Date.now() + 20_000;
    while ((output.match(/"msg":"image worker started"/g)?.length ?? 0) < 3 && Date.now() < until) await new Promise((done) => setTimeout(done, 100));
    // Readiness needs one server process; /metrics below asks every one of them.
    while ((output.match(/"msg":"service server listening/g)?.length ?? 0) < availableParallelism() && Date.now() < until) await new Promise((done) => setTimeout(done, 100));
    const url = encodeURIComponent(origin.url('/bytes/photo.jpg'));
    const response = await fetch(`http://127.0.0.1:${port}/get_image?url=${url}&resize_width=200&resize_height=200`);
    expect(response.status).toBe(200);
    const decoded = await decodeImage(Buffer.from(await response.arrayBuffer()));
    expect([decoded.format, decoded.width, decoded.height]).toEqual(['jpeg', 200, 150]);

    // One scrape address for the whole machine: the server's /metrics carries every process's series.
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.headers.get('cache-control')).toBe('no-store');
    const text = await metrics.text();
    // By default one server process per core, all on the one port.
    const servers = Array.from({ length: availableParallelism() }, (_, index): [string, number] => ['server', index]);
    for (const [role, index] of [...servers, ['worker-normal', 0], ['worker-normal', 1], ['worker-big', 0], ['launcher', 0]]) {
      expect(text).toMatch(new RegExp(`^process_resident_memory_bytes\\{role="${role}",index="${index}"\\} \\d+`, 'm'));
    }
    expect(text).toMatch(/^image_cloud_jobs_total\{stage="render",lane="sync-normal",outcome="ok",role="worker-normal",index="\d"\} 1$/m);
    // Whichever server process the connection went to counted the request, once.
    expect(text.match(/^image_cloud_http_requests_total\{route="\/get_image",status="200",role="server",index="\d+"\} 1$/gm)).toHaveLength(1);
    expect(output).toContain(`running: ${availableParallelism()} server process(es)`);

    expect(output).toMatch(/2 normal-lane worker\(s\)/);
    expect(output.match(/"msg":"image worker started"/g)?.length).toBe(3);

    // Policy 1 on the real processes: each normal-lane worker pinned to a core of its own, with a
    // libuv pool sized for its slots; the big-lane worker niced instead.
    const workers = childrenOf(launcher.pid!).filter((pid) => commandLine(pid).includes('image-worker'));
    const normal = workers.filter((pid) => environment(pid)['WORKER_LANE'] === 'normal');
    const big = workers.filter((pid) => environment(pid)['WORKER_LANE'] === 'big');
    expect([normal.length, big.length]).toEqual([2, 1]);
    for (const pid of normal) expect(environment(pid)['UV_THREADPOOL_SIZE']).toBe('4');
    if (canPinCpus() && availableParallelism() >= 2) {
      expect(new Set(normal.map((pid) => allowedCpus(pid))).size).toBe(2);
      for (const pid of normal) expect(allowedCpus(pid)).toMatch(/^\d+$/);
    }
    expect(niceness(big[0]!)).toBe(10);

    launcher.kill('SIGTERM');
    const [code] = await once(launcher, 'exit');
    expect(code).toBe(0);
    expect(output).toContain('[launcher] stopped.');
  }, 60_000);

  it('takes its server and workers down with it when it is killed outright', async () => {
    const port = await freePort();
    const victim = spawn(process.execPath, ['dist/launcher/main.js'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: join(dataDir, 'config.json'), QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
      detached: true,
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 20_000);
      victim.kill('SIGKILL');
      const until = Date.now() + 15_000;
      let serving = true;
      while (serving && Date.now() < until) {
        serving = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false);
        if (serving) await new Promise((done) => setTimeout(done, 200));
      }
      expect(serving).toBe(false);
    } finally {
      try {
        process.kill(-victim.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 40_000);

  it('stops cleanly on Ctrl-C (SIGINT to the whole process group) mid-render, without taking render children for crashed', async () => {
    origin.serveBytes('heavy.jpg', await makeNoiseImage(2500, 2500), 'image/jpeg');
    const port = await freePort();
    let log = '';
    const interrupted = startLauncher(port, (chunk) => (log += chunk));
    try {
      const until = Date.now() + 30_000;
      while ((log.match(/"msg":"image worker started"/g)?.length ?? 0) < 3 && Date.now() < until) await new Promise((done) => setTimeout(done, 100));
      // A render that takes a while, so that the interrupt finds it running.
      const url = encodeURIComponent(origin.url('/bytes/heavy.jpg'));
      const rendering = fetch(`http://127.0.0.1:${port}/get_image?url=${url}&resize_width=2400&format_when_resize=webp`).then((r) => r.status, () => 0);
      await new Promise((done) => setTimeout(done, 1_500));
      const exited = once(interrupted, 'exit');
      // What a terminal does on Ctrl-C: the signal reaches every process of the group at once.
      process.kill(-interrupted.pid!, 'SIGINT');
      const [code] = await exited;
      expect(code).toBe(0);
      // Shutdown lets the running job finish: the waiting client still gets its image.
      expect(await rendering).toBe(200);
      expect(log).toContain('[launcher] stopped.');
      expect(log).not.toMatch(/render child replaced/);
      expect(log).not.toMatch(/"level":"error"/);
    } finally {
      try {
        process.kill(-interrupted.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 60_000);

  it('exits with a clear message, not restarting its server forever, when its port is taken', async () => {
    const squatter = createServer();
    squatter.listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const port = (squatter.address() as AddressInfo).port;
    let log = '';
    const blocked = startLauncher(port, (chunk) => (log += chunk));
    try {
      const [code] = await once(blocked, 'exit');
      expect(code).toBe(3);
      expect(log).toContain(`port ${port} is in use`);
      expect(log).not.toMatch(/restarting/);
    } finally {
      squatter.close();
      try {
        process.kill(-blocked.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 60_000);

  it('stops the whole process tree when SIGTERM is sent to npm itself', async () => {
    const port = await freePort();
    let log = '';
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: join(dataDir, 'config.json'), QUEUE_PREFIX: prefix, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    npm.stdout!.on('data', (chunk) => (log += chunk));
    npm.stderr!.on('data', (chunk) => (log += chunk));
    try {
      await waitForHttp(`http://127.0.0.1:${port}/readyz`, 60_000);
      const until = Date.now() + 30_000;
      while ((log.match(/"msg":"image worker started"/g)?.length ?? 0) < 3 && Date.now() < until) await new Promise((done) => setTimeout(done, 100));
      const tree = descendantsOf(npm.pid!);
      expect(tree.filter((pid) => commandLine(pid).includes('image-worker/main.js')).length).toBe(3);
      const exited = once(npm, 'exit');
      process.kill(npm.pid!, 'SIGTERM');
      await exited;
      expect(await stillRunningAfter(tree, 30_000)).toEqual([]);
      expect(log).toContain('[launcher] stopped.');
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 120_000);

  it('exits on Ctrl-C during start-up, stopping its children itself', async () => {
    const port = await freePort();
    let log = '';
    const starting = startLauncher(port, (chunk) => (log += chunk));
    try {
      // The server is up, the workers are still starting (connecting to Redis, forking render children).
      const until = Date.now() + 20_000;
      while (!log.includes('"msg":"service server listening') && Date.now() < until) await new Promise((done) => setTimeout(done, 20));
      const tree = descendantsOf(starting.pid!);
      const exited = once(starting, 'exit');
      process.kill(-starting.pid!, 'SIGINT');
      const [code] = await exited;
      expect(code).toBe(0);
      expect(await stillRunningAfter(tree, 30_000)).toEqual([]);
      // Under the launcher the children leave Ctrl-C to it and are stopped in order with SIGTERM.
      expect(log).not.toMatch(/(service-server|image-worker): SIGINT received/);
      expect(log).toContain('[launcher] stopped.');
    } finally {
      try {
        process.kill(-starting.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 120_000);

  it('refuses a wrong setting with a message naming it', async () => {
    const result = spawn(process.execPath, ['dist/launcher/main.js'], { cwd: ROOT, env: { ...process.env, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    result.stderr!.on('data', (chunk) => (stderr += chunk));
    const [code] = await once(result, 'exit');
    expect(code).toBe(2);
    expect(stderr).toMatch(/environment variable PORT/);
  }, 20_000);
});
