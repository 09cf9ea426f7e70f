import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_REDIS_URL, countKeysWithPrefix, deleteKeysWithPrefix, freePort, stopProcesses, uniquePrefix, waitForHttp } from '@image-cloud/testing';

const ROOT = resolve(__dirname, '../../..');

export interface LaunchedCloud {
  url: string;
  /** The launcher's pid (its children are the server and worker processes). */
  pid: number;
  /** Resolves with the launcher's exit code when it exits. */
  exited: Promise<number | null>;
  /** Everything the launcher and its children wrote so far. */
  output(): string;
  /** SIGTERM, wait for a clean exit, remove the data and every Redis key of the run. */
  stop(): Promise<void>;
}

/** How one launched cloud differs from a lone one on 127.0.0.1: what a test of several hosts needs. */
export interface LaunchOptions {
  /** The address the server listens on (any of 127/8 is this machine's loopback). @defaultValue 127.0.0.1 */
  host?: string;
  /** A Redis prefix shared with other clouds; its owner (the test) removes its keys, `stop()` does not. */
  sharedQueuePrefix?: string;
  /** More environment variables for the launcher and its children. */
  env?: Record<string, string>;
}

/**
 * The cloud as `npm start` runs it (the built launcher with its server and workers), on a free
 * port, under a Redis prefix and data directory of its own. Resolves once every worker runs.
 */
export async function launchCloud(
  name: string,
  config: Record<string, unknown>,
  workers = { processes: 1, bigProcesses: 1 },
  options: LaunchOptions = {},
): Promise<LaunchedCloud> {
  const host = options.host ?? '127.0.0.1';
  const prefix = options.sharedQueuePrefix ?? uniquePrefix(name);
  const dataDir = await mkdtemp(join(tmpdir(), `${name}-`));
  const configPath = join(dataDir, 'config.json');
  await writeFile(configPath, JSON.stringify({ ...config, worker: { ...(config['worker'] as object), ...workers } }));
  const port = await freePort();
  let output = '';
  const launcher: ChildProcess = spawn(process.execPath, ['dist/launcher/main.js'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: host, REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: configPath, QUEUE_PREFIX: prefix, LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  launcher.stdout!.on('data', (chunk) => (output += chunk));
  launcher.stderr!.on('data', (chunk) => (output += chunk));
  const exited = once(launcher, 'exit').then(([code]) => code as number | null);
  const url = `http://${host}:${port}`;

  const stop = async () => {
    await stopProcesses([launcher]);
    await rm(dataDir, { recursive: true, force: true });
    if (options.sharedQueuePrefix) return;
    await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
    const left = await countKeysWithPrefix(TEST_REDIS_URL, prefix);
    if (left > 0) throw new Error(`${left} Redis keys under ${prefix} were left behind`);
  };
  try {
    await waitForHttp(`${url}/readyz`, 30_000);
    const expected = workers.processes + workers.bigProcesses;
    const giveUpAt = Date.now() + 30_000;
    while ((output.match(/"msg":"image worker started"/g)?.length ?? 0) < expected) {
      if (Date.now() > giveUpAt) throw new Error(`only some workers started:\n${output}`);
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: launcher.pid!, exited, output: () => output, stop };
}
