import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisClient } from '@image-cloud/redis-address';

/** True when a Redis answers PING at the URL within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1_500): Promise<boolean> {
  const redis = createRedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export const REDIS_INSTALL_HINT =
  'No redis-server is installed. Install one (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`) or point REDIS_URL at a running Redis.';

export function findRedisServer(): string | null {
  const result = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = result.stdout.trim();
  return result.status === 0 && path ? path : null;
}

export interface EmbeddedRedis {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server with the settings BullMQ needs in production: append-only file
 * (jobs survive a restart) and noeviction (no lock or job is ever silently evicted).
 */
export async function startEmbeddedRedis(options: { port: number; dataDir: string }): Promise<EmbeddedRedis> {
  const binary = findRedisServer();
  if (!binary) throw new Error(REDIS_INSTALL_HINT);
  const dir = join(options.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    binary,
    ['--port', String(options.port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction'],
    // Its own process group: Ctrl-C at the terminal must not stop Redis under the workers that are
    // still finishing their jobs; the launcher stops it last.
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  const url = `redis://127.0.0.1:${options.port}`;
  const started = Date.now();
  while (!(await redisAnswers(url, 500))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} (is port ${options.port} taken?)`);
    if (Date.now() - started > 10_000) {
      child.kill('SIGKILL');
      throw new Error('redis-server did not answer within 10 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
