import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@image-cloud/config';
import { S3RVER_CREDENTIALS, type TestS3Server, startTestS3Server } from '@image-cloud/s3-storage/testing';
import { LocalDirectoryStorage } from '@image-cloud/storage';
import { readAll, sampleVariantMeta, testKey } from '@image-cloud/storage/testing';
import { TEST_REDIS_URL } from '@image-cloud/testing';
import IORedis from 'ioredis';
import { createImageStorage } from './create-image-storage';

let dataDir: string;
let s3: TestS3Server;
const savedEnv = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };

beforeAll(async () => {
  s3 = await startTestS3Server('storage-backend');
  process.env['AWS_ACCESS_KEY_ID'] = S3RVER_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = S3RVER_CREDENTIALS.secretAccessKey;
});

afterAll(async () => {
  await s3?.close();
  if (savedEnv.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
  else process.env['AWS_ACCESS_KEY_ID'] = savedEnv.id;
  if (savedEnv.secret === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
  else process.env['AWS_SECRET_ACCESS_KEY'] = savedEnv.secret;
});

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'image-cloud-storage-backend-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function configWith(storage: unknown) {
  return loadConfig({ DATA_DIR: dataDir, REDIS_URL: TEST_REDIS_URL }, { storage });
}

it('uses DATA_DIR by default', async () => {
  const backend = await createImageStorage(configWith(undefined), { role: 'server' });
  try {
    expect(backend.kind).toBe('local');
    expect(backend.storage).toBeInstanceOf(LocalDirectoryStorage);
    expect(backend.location).toBe(dataDir);
  } finally {
    await backend.close();
  }
});

it('gives every process of a host its own cache, and a delete in one reaches the others', async () => {
  const prefix = `backend-${randomBytes(4).toString('hex')}`;
  const config = configWith({ kind: 's3', bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, prefix });
  const server = await createImageStorage(config, { role: 'server' });
  const worker = await createImageStorage(config, { role: 'worker-normal' });
  try {
    expect(server.kind).toBe('s3');
    expect(server.location).toBe(`s3://${s3.bucket}/${prefix}/`);
    expect(existsSync(join(dataDir, 's3-cache', 'server-0'))).toBe(true);
    expect(existsSync(join(dataDir, 's3-cache', 'worker-normal-0'))).toBe(true);

    const original = testKey('backend original');
    const variant = testKey('backend variant');
    const bytes = randomBytes(5000);
    await worker.storage.putVariant(original, variant, bytes, sampleVariantMeta());
    expect((await readAll((await server.storage.openVariant(original, variant))!.body)).equals(bytes)).toBe(true);

    expect(await worker.storage.deleteImage(original)).toBe(1);
    // The server's copy goes once the notice arrives.
    let opened = await server.storage.openVariant(original, variant);
    for (let waited = 0; opened !== null && waited < 5_000; waited += 20) {
      await sleep(20);
      opened = await server.storage.openVariant(original, variant);
    }
    expect(opened).toBeNull();
  } finally {
    await server.close();
    await worker.close();
  }
});

it('tells the change listeners of every process sharing DATA_DIR of a delete, its own at once', async () => {
  const heard = { server: [] as string[], worker: [] as string[] };
  const listener = (into: string[]) => ({ onInvalidate: (originalKey: string) => into.push(originalKey), onMissedNotices: () => into.push('*') });
  const server = await createImageStorage(configWith(undefined), { role: 'server', changes: listener(heard.server) });
  const worker = await createImageStorage(configWith(undefined), { role: 'worker-normal', changes: listener(heard.worker) });
  try {
    for (let waited = 0; !(heard.server.includes('*') && heard.worker.includes('*')) && waited < 5_000; waited += 20) await sleep(20);
    // Subscribed (on connecting and on subscribing): whatever was kept before may be stale.
    expect([heard.server[0], heard.worker[0]]).toEqual(['*', '*']);
    const keys = (into: string[]) => into.filter((key) => key !== '*');

    const original = testKey('local original');
    await worker.storage.putVariant(original, testKey('local variant'), randomBytes(100), sampleVariantMeta());
    expect(await worker.storage.deleteImage(original)).toBe(1);
    expect(keys(heard.worker)).toEqual([original]);
    for (let waited = 0; keys(heard.server).length === 0 && waited < 5_000; waited += 20) await sleep(20);
    expect(keys(heard.server)).toEqual([original]);
  } finally {
    await server.close();
    await worker.close();
  }
});

it('a DATA_DIR process without a change listener only announces: it does not subscribe, and its deletes still reach the listeners', async () => {
  const heard: string[] = [];
  const server = await createImageStorage(configWith(undefined), {
    role: 'server',
    changes: { onInvalidate: (originalKey) => heard.push(originalKey), onMissedNotices: () => heard.push('*') },
  });
  const worker = await createImageStorage(configWith(undefined), { role: 'worker-normal' });
  const redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    for (let waited = 0; !heard.includes('*') && waited < 5_000; waited += 20) await sleep(20);
    const channel = `image-cloud:storage-invalidate:${dataDir}`;
    // The server's subscription alone: the worker hears no notices it would only drop.
    expect(await redis.pubsub('NUMSUB', channel)).toEqual([channel, 1]);

    const original = testKey('announced original');
    await worker.storage.putVariant(original, testKey('announced variant'), randomBytes(100), sampleVariantMeta());
    expect(await worker.storage.deleteImage(original)).toBe(1);
    for (let waited = 0; !heard.includes(original) && waited < 5_000; waited += 20) await sleep(20);
    expect(heard.filter((key) => key !== '*')).toEqual([original]);
  } finally {
    redis.disconnect();
    await server.close();
    await worker.close();
  }
});
