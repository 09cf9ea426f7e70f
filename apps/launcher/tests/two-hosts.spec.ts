import type { IncomingMessage, ServerResponse } from 'node:http';
import { makeImage } from '@image-cloud/imaging/testing';
import { S3RVER_CREDENTIALS, type TestS3Server, startTestS3Server } from '@image-cloud/s3-storage/testing';
import { type OriginServer, TEST_REDIS_URL, deleteKeysWithPrefix, startOriginServer, uniquePrefix, waitUntil } from '@image-cloud/testing';
import { type LaunchedCloud, launchCloud } from './launched-cloud';

/**
 * Two hosts, one cloud: two complete `npm start` clusters (each its own DATA_DIR, port, server and
 * workers) that share only the Redis (one QUEUE_PREFIX) and one S3 bucket, set up the way an
 * operator would, through the storage environment variables. The hosts listen on loopback
 * addresses of their own, 127.0.0.2 and 127.0.0.3 (see the README's "Run a cluster").
 */

const PREFETCH_SLOTS = 3;
const BATCH = 12;

let s3: TestS3Server;
let origin: OriginServer;
let hostA: LaunchedCloud;
let hostB: LaunchedCloud;
const queuePrefix = uniquePrefix('two-hosts');

/**
 * Holds every /gated/* answer until more downloads are in flight than one host's workers can run
 * at once (PREFETCH_SLOTS): then both hosts are downloading, whatever the timing. A bounded wait
 * lets the batch end (and the assertion say why) if only one host ever takes jobs.
 */
function gatedAnswers(photo: Buffer): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  let waiting: Array<() => void> = [];
  let open = false;
  const release = () => {
    open = true;
    for (const answer of waiting) answer();
    waiting = [];
  };
  setTimeout(release, 60_000).unref();
  return async (_req, res) => {
    if (!open) {
      const answered = new Promise<void>((resolve) => waiting.push(resolve));
      if (waiting.length > PREFETCH_SLOTS) release();
      await answered;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length });
    res.end(photo);
  };
}

/** Fetch jobs that ended ok in this host's worker processes, from its /metrics. */
async function fetchJobsDone(host: LaunchedCloud): Promise<number> {
  const text = await (await fetch(`${host.url}/metrics`)).text();
  let total = 0;
  for (const [, labels, value] of text.matchAll(/^image_cloud_jobs_total\{([^}]*)\} (\S+)$/gm)) {
    if (labels!.includes('stage="fetch"') && labels!.includes('outcome="ok"') && labels!.includes('role="worker-')) total += Number(value);
  }
  return total;
}

beforeAll(async () => {
  s3 = await startTestS3Server('two-hosts');
  origin = await startOriginServer();
  const photo = await makeImage({ width: 500, height: 375 });
  origin.serveBytes('photo.jpg', photo, 'image/jpeg');
  const gate = gatedAnswers(await makeImage({ width: 320, height: 240 }));
  for (let i = 0; i < BATCH; i++) origin.route(`/gated/${i}.jpg`, gate);

  const env = {
    STORAGE_KIND: 's3',
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: 'us-east-1',
    S3_FORCE_PATH_STYLE: 'true',
    S3_PREFIX: 'shared/',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
  const config = { allowPrivateOrigins: ['127.0.0.0/8'], domains: { default: 50 }, fetch: { prefetchConcurrency: PREFETCH_SLOTS } };
  const workers = { processes: 1, bigProcesses: 0 };
  [hostA, hostB] = await Promise.all([
    launchCloud('host-a', config, workers, { host: '127.0.0.2', sharedQueuePrefix: queuePrefix, env }),
    launchCloud('host-b', config, workers, { host: '127.0.0.3', sharedQueuePrefix: queuePrefix, env }),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all([hostA?.stop(), hostB?.stop()]);
  await deleteKeysWithPrefix(TEST_REDIS_URL, queuePrefix);
  await origin?.close();
  await s3?.close();
}, 60_000);

const imageUrl = () => origin.url('/bytes/photo.jpg');
const getImage = (host: LaunchedCloud) => fetch(`${host.url}/get_image?${new URLSearchParams({ url: imageUrl(), resize_width: '200' })}`);

it('serves an image fetched through host A as a hit on host B, without a second download', async () => {
  const miss = await getImage(hostA);
  expect(miss.status).toBe(200);
  expect(miss.headers.get('x-cache')).toBe('MISS');
  const bytes = Buffer.from(await miss.arrayBuffer());

  const onB = await getImage(hostB);
  expect(onB.status).toBe(200);
  expect(onB.headers.get('x-cache')).toBe('HIT');
  expect(Buffer.from(await onB.arrayBuffer()).equals(bytes)).toBe(true);
  expect(origin.hits('/bytes/photo.jpg')).toBe(1);
}, 30_000);

it('removes the image for host A when host B deletes it', async () => {
  // A holds the variant in its own cache tier too: the delete must reach that copy as well.
  expect((await getImage(hostA)).headers.get('x-cache')).toBe('HIT');

  const deleted = await fetch(`${hostB.url}/delete_image?${new URLSearchParams({ url: imageUrl() })}`, { method: 'DELETE' });
  expect(deleted.status).toBe(200);
  expect(await deleted.json()).toMatchObject({ deleted: true });
  expect(await s3.list('shared/')).toEqual([]);

  // The notice to A's processes travels over Redis pub/sub: A's next answer after it is a miss.
  let answer = '';
  await waitUntil(async () => {
    const response = await getImage(hostA);
    await response.arrayBuffer();
    answer = response.headers.get('x-cache') ?? '';
    return answer === 'MISS';
  }, 10_000);
  expect(answer).toBe('MISS');
  expect(origin.hits('/bytes/photo.jpg')).toBe(2);
}, 30_000);

it('works a prefetch batch submitted to host A off with the workers of both hosts', async () => {
  const [beforeOnA, beforeOnB] = await Promise.all([fetchJobsDone(hostA), fetchJobsDone(hostB)]);
  const urls = Array.from({ length: BATCH }, (_, i) => origin.url(`/gated/${i}.jpg`));
  const submitted = await fetch(`${hostA.url}/fire_and_forget`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls }) });
  expect(submitted.status).toBe(202);
  const { batchId } = (await submitted.json()) as { batchId: string };

  let progress: { done: number; complete: boolean } = { done: 0, complete: false };
  await waitUntil(async () => {
    progress = (await (await fetch(`${hostA.url}/fire_and_forget/${batchId}`)).json()) as typeof progress;
    return progress.complete;
  }, 70_000);
  expect(progress).toMatchObject({ done: BATCH, complete: true });

  const [afterOnA, afterOnB] = await Promise.all([fetchJobsDone(hostA), fetchJobsDone(hostB)]);
  const doneOnA = afterOnA - beforeOnA;
  const doneOnB = afterOnB - beforeOnB;
  expect({ doneOnA: doneOnA > 0, doneOnB: doneOnB > 0 }).toEqual({ doneOnA: true, doneOnB: true });
  expect(doneOnA + doneOnB).toBe(BATCH);
  // And host B sees the batch's progress too: it is the cluster's, not A's.
  expect(await (await fetch(`${hostB.url}/fire_and_forget/${batchId}`)).json()).toMatchObject({ done: BATCH, complete: true });
}, 80_000);
