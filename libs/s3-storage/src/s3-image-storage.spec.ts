import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStorageConformance } from '@image-cloud/storage/testing';
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
