import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { freePort } from '@image-cloud/testing';
import { findRedisServer, redisAnswers, startEmbeddedRedis } from '../src';

const describeWithRedis = findRedisServer() ? describe : describe.skip;

describeWithRedis('startEmbeddedRedis', () => {
  it('runs a private redis-server with AOF and noeviction, and stops it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'embedded-redis-'));
    const port = await freePort();
    const embedded = await startEmbeddedRedis({ port, dataDir });
    try {
      expect(await redisAnswers(embedded.url)).toBe(true);
      const client = new IORedis(embedded.url);
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', join(dataDir, 'redis')]);
      client.disconnect();
      // Ctrl-C at the terminal reaches the launcher's process group, not Redis: the launcher stops
      // it last, after the workers have finished their jobs.
      const stat = readFileSync(`/proc/${embedded.process.pid}/stat`, 'utf8');
      const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      expect(processGroup).toBe(embedded.process.pid);
    } finally {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
    expect(await redisAnswers(embedded.url, 300)).toBe(false);
  });

  it('says so when nothing answers', async () => {
    expect(await redisAnswers(`redis://127.0.0.1:${await freePort()}`, 300)).toBe(false);
  });
});
