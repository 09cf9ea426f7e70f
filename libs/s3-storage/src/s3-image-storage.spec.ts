import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ImageCloudError } from '@image-cloud/errors';
import {
  describeStorageConformance,
  expectNoObject,
  expectedEtag,
  sampleOriginalMeta,
  sampleVariantMeta,
  testKey,
} from '@image-cloud/storage/testing';
import { ByteLruDirectory, CachedImageStorage } from '@image-cloud/storage-cache';
import { S3RVER_CREDENTIALS, type TestS3Server, startTestS3Server } from './testing';
import { S3ImageStorage } from './s3-image-storage';

let s3: TestS3Server;
let run = 0;

beforeAll(async () => {
  s3 = await startTestS3Server();
});

afterAll(async () => {
  await s3?.close();
});

/** A storage on the shared test bucket under a prefix of its own, so tests never see each other's objects. */
async function makeS3Storage(): Promise<{ storage: S3ImageStorage; downloadDir: string }> {
  const downloadDir = await mkdtemp(join(tmpdir(), 'image-cloud-s3-downloads-'));
  const storage = new S3ImageStorage({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    prefix: `run-${process.pid}-${run++}`,
    credentials: S3RVER_CREDENTIALS,
    downloadDir,
    downloadCacheBytes: 64 * 1024 * 1024,
  });
  return { storage, downloadDir };
}

/**
 * The S3 requests `work` sends to the server on `port`, in order, as "<method> <data|record>":
 * observed on node's HTTP client diagnostics channel, the requests themselves are real.
 */
async function requestsTo(port: number, work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const onRequest = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    if (String(request.getHeader('host')).endsWith(`:${port}`)) seen.push(`${request.method} ${request.path.includes('/data/') ? 'data' : 'record'}`);
  };
  subscribe('http.client.request.start', onRequest);
  try {
    await work();
  } finally {
    unsubscribe('http.client.request.start', onRequest);
  }
  return seen;
}

describeStorageConformance('S3ImageStorage', async () => {
  const { storage, downloadDir } = await makeS3Storage();
  return {
    storage,
    cleanup: async () => {
      storage.close();
      await rm(downloadDir, { recursive: true, force: true });
    },
  };
});

describeStorageConformance('CachedImageStorage over S3ImageStorage (what storage.kind "s3" runs)', async () => {
  const { storage: s3Storage, downloadDir } = await makeS3Storage();
  const cacheDir = await mkdtemp(join(tmpdir(), 'image-cloud-s3-cache-'));
  const storage = new CachedImageStorage({ backend: s3Storage, cache: ByteLruDirectory.open(cacheDir, 64 * 1024 * 1024) });
  return {
    storage,
    cleanup: async () => {
      s3Storage.close();
      await rm(downloadDir, { recursive: true, force: true });
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
});

describe('S3ImageStorage specifics', () => {
  const original = testKey('s3 original');
  const variant = testKey('s3 variant');
  let storage: S3ImageStorage;
  let downloadDir: string;

  beforeEach(async () => {
    ({ storage, downloadDir } = await makeS3Storage());
  });

  afterEach(async () => {
    storage.close();
    await rm(downloadDir, { recursive: true, force: true });
  });

  it('keeps each prefix to itself: the same keys under another prefix are other objects', async () => {
    const { storage: neighbour, downloadDir: neighbourDir } = await makeS3Storage();
    try {
      await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
      await neighbour.putOriginal(original, randomBytes(100), sampleOriginalMeta());
      await neighbour.putVariant(original, variant, randomBytes(100), sampleVariantMeta());

      expect(await storage.deleteImage(original)).toBe(1);
      expect(await neighbour.getOriginalMeta(original)).not.toBeNull();
      expect(await neighbour.getVariantMeta(original, variant)).not.toBeNull();
    } finally {
      neighbour.close();
      await rm(neighbourDir, { recursive: true, force: true });
    }
  });

  it('names a record whose data object is gone missing, never half there', async () => {
    // What a reader finds when a delete removed the data between its reading the record and the bytes.
    const bytes = randomBytes(1000);
    await storage.putOriginal(original, bytes, sampleOriginalMeta());
    const other = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const dataKey = `${storage.location}${original}/data/${expectedEtag(bytes).slice(1, -1)}`.slice(s3.bucket.length + 1);
    await other.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: dataKey }));
    other.destroy();

    await expectNoObject(storage, original, variant);
  });

  it('stores a variant with two PUTs, data then record, asking nothing first; an original\'s same bytes are not uploaded again', async () => {
    const bytes = randomBytes(5000);
    expect(await requestsTo(s3.port, () => storage.putVariant(original, variant, bytes, sampleVariantMeta()))).toEqual(['PUT data', 'PUT record']);
    expect((await storage.openVariant(original, variant))?.bytes?.equals(bytes)).toBe(true);

    const originalBytes = randomBytes(5000);
    expect(await requestsTo(s3.port, () => storage.putOriginal(original, originalBytes, sampleOriginalMeta()))).toEqual(['HEAD data', 'PUT data', 'PUT record']);
    // The record gains fields (placeholders), the bytes stay: only the record is written.
    const again = () => storage.putOriginal(original, originalBytes, sampleOriginalMeta({ placeholders: null }));
    expect(await requestsTo(s3.port, again)).toEqual(['HEAD data', 'PUT record']);
    expect((await storage.readOriginal(original))?.meta.placeholders).toBeNull();
  });

  it('signs an upload with the sha256 it already computed: the payload hash on the wire is the data\'s name', async () => {
    const bytes = randomBytes(300_000);
    const hashes: Array<{ path: string; hash: unknown }> = [];
    const onRequest = (message: unknown) => {
      const { request } = message as { request: ClientRequest };
      if (request.method === 'PUT' && String(request.getHeader('host')).endsWith(`:${s3.port}`)) {
        hashes.push({ path: request.path, hash: request.getHeader('x-amz-content-sha256') });
      }
    };
    subscribe('http.client.request.start', onRequest);
    try {
      await storage.putOriginal(original, bytes, sampleOriginalMeta());
    } finally {
      unsubscribe('http.client.request.start', onRequest);
    }
    const hex = expectedEtag(bytes).slice(1, -1);
    const upload = hashes.find(({ path }) => path.includes('/data/'));
    expect(upload?.path).toContain(`/data/${hex}`);
    expect(upload?.hash).toBe(hex);
    expect((await storage.readOriginal(original))?.bytes.equals(bytes)).toBe(true);
  });

  it('reads missing objects as null and keeps the connection: every request after the first reuses it', async () => {
    const reused: boolean[] = [];
    const onResponse = (message: unknown) => {
      const { request } = message as { request: ClientRequest };
      if (String(request.getHeader('host')).endsWith(`:${s3.port}`)) reused.push(request.reusedSocket);
    };
    subscribe('http.client.response.finish', onResponse);
    try {
      await storage.putVariant(original, variant, randomBytes(100), sampleVariantMeta());
      for (const label of ['missing 1', 'missing 2', 'missing 3']) {
        expect(await storage.openVariant(original, testKey(label))).toBeNull();
        expect(await storage.getVariantMeta(original, testKey(label))).toBeNull();
      }
      expect(await storage.getOriginalMeta(original)).toBeNull();
    } finally {
      unsubscribe('http.client.response.finish', onResponse);
    }
    expect(reused).toHaveLength(9);
    expect(reused.slice(1)).toEqual(Array(8).fill(true));
  });

  it('answers 503 unavailable, naming S3, while the store is down, and recovers when it is back', async () => {
    await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
    await s3.stop();
    try {
      const failure = await storage.getOriginalMeta(original).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ImageCloudError);
      expect(failure).toMatchObject({ code: 'unavailable', status: 503, retryable: true });
      expect((failure as Error).message).toMatch(/image store \(S3\)/);
      await expect(storage.putVariant(original, variant, randomBytes(10), sampleVariantMeta())).rejects.toMatchObject({ code: 'unavailable' });
      await expect(storage.checkWritable()).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await s3.restart();
    }
    expect(await storage.getOriginalMeta(original)).not.toBeNull();
    await storage.checkWritable();
  });
});
