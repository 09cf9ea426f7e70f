import { availableParallelism } from 'node:os';
import { S3RVER_CREDENTIALS, startTestS3Server } from '@image-cloud/s3-storage/testing';
import { photoOrigin, systemMissPath } from './lib/miss-path-run';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * The miss path (bench/miss-path.ts's whole-system run: 200×200 JPEG q80 of the 20 bench photos,
 * originals stored, variants not) with `storage.kind: "s3"` against the local-directory backend in
 * the same run: local before, S3, local after; the baseline is the mean of the two local runs. The
 * S3 store is s3rver on loopback, so its CPU competes with the cloud's on the same cores: the
 * ratio is a pessimistic figure for this machine, not what a remote store costs in latency.
 * Usage: npm run bench -- storage-miss-path [copies=3]
 */
async function main(): Promise<void> {
  const copies = Number(process.argv[2] ?? 3);
  const cores = availableParallelism();
  const clients = cores * 4;
  const { origin, urls } = await photoOrigin(copies);
  const s3 = await startTestS3Server('storage-miss-path');
  // The cluster's processes inherit these: the SDK's environment chain, as in production.
  process.env['AWS_ACCESS_KEY_ID'] = S3RVER_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = S3RVER_CREDENTIALS.secretAccessKey;
  const s3Storage = { kind: 's3', bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true };
  try {
    const run = (name: string, storage?: Record<string, unknown>) => systemMissPath(urls, { jobsPerWorker: 1, clients, name, storage });
    const localBefore = await run('storage-miss-local');
    const s3Run = await run('storage-miss-s3', { ...s3Storage, prefix: 'miss-path/' });
    const localAfter = await run('storage-miss-local');
    const baseline = (localBefore.imagesPerSecond + localAfter.imagesPerSecond) / 2;
    const row = (name: string, m: typeof s3Run) => [name, m.imagesPerSecond, m.p50Ms, m.p99Ms, m.errors, m.imagesPerSecond / baseline];
    printTable(
      `Miss path by storage backend, ${urls.length} images (${copies} × 20 bench photos), ${cores} cores, ${clients} clients; baseline = mean of the local runs`,
      ['storage', 'images/s', 'p50 ms', 'p99 ms', 'errors', 'ratio vs local directory'],
      [row('local directory (before)', localBefore), row('S3 (s3rver on loopback) + host cache', s3Run), row('local directory (after)', localAfter)],
    );
    console.log(`ratio (S3 / local directory) = ${(s3Run.imagesPerSecond / baseline).toFixed(2)}`);
    // Where the difference goes: CPU per image by process role (redis-server is the machine's shared one).
    const runs = [localBefore, s3Run, localAfter];
    const roles = [...new Set(runs.flatMap((m) => [...(m.cpu ?? new Map<string, number>()).keys()]))].filter((role) => !role.startsWith('load generator')).sort();
    printTable(
      'CPU ms per image by process role (load generator and origin left out)',
      ['process role', 'local (before)', 'S3', 'local (after)'],
      roles.map((role) => [role, ...runs.map((m) => (1000 * (m.cpu?.get(role) ?? 0)) / urls.length)]),
    );
  } finally {
    await s3.close();
    await origin.close();
  }
}

runBenchmark(main);
