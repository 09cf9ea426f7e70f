import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/** The credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A running s3rver: a real S3-protocol server on 127.0.0.1 with one bucket. */
export interface TestS3Server {
  endpoint: string;
  bucket: string;
  port: number;
  /** Names of the objects under `prefix`, sorted: what a test checks was stored or removed. */
  list(prefix: string): Promise<string[]>;
  /** Stops the server (SIGTERM), e.g. to test an outage; the objects stay on disk for {@link restart}. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the same objects. */
  restart(): Promise<void>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

/** The workspace root (where nx.json is), from this file as source or bundled into dist/ (benchmarks). */
function workspaceRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const CHILD_SCRIPT = join(workspaceRoot(), 'libs', 's3-storage', 'testing', 's3rver-child.cjs');

/**
 * Starts s3rver in a child process (see testing/s3rver-child.cjs for why, and for the one way it is
 * made to behave like real S3) with a fresh directory and bucket.
 */
export async function startTestS3Server(bucket = 'image-cloud-test'): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'image-cloud-s3rver-'));
  let child: ChildProcess | null = null;
  let port = 0;

  const start = async (): Promise<void> => {
    const started = spawn(process.execPath, [CHILD_SCRIPT, directory, bucket, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = started;
    const lines = createInterface({ input: started.stdout! });
    const exited = once(started, 'exit').then(([code]) => {
      throw new Error(`s3rver exited with code ${String(code)} before listening`);
    });
    const listening = (async () => {
      for await (const line of lines) return (JSON.parse(line) as { port: number }).port;
      throw new Error('s3rver closed its output before listening');
    })();
    port = await Promise.race([listening, exited]);
    exited.catch(() => undefined);
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    port,
    stop,
    restart: start,
    async list(prefix) {
      const client = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
      try {
        const names: string[] = [];
        let token: string | undefined;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
          names.push(...(page.Contents ?? []).map((object) => object.Key!));
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        return names.sort();
      } finally {
        client.destroy();
      }
    },
    async close() {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
