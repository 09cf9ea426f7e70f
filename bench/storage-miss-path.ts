import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3RVER_CREDENTIALS, startTestS3Server } from '@image-cloud/s3-storage/testing';
import { photoOrigin, systemMissPath } from './lib/miss-path-run';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';
import { s3RequestCountingEnv, s3RequestsBetween } from './lib/s3-requests';

/**
 * The miss path (bench/miss-path.ts's whole-system run: 200×200 JPEG q80 of the 20 bench photos,
 * originals stored, variants not) with `storage.kind: "s3"` against the local-directory backend in
 * the same run: local before, S3, local after; the baseline is the mean of the two local runs. The
 * S3 store is s3rver on loopback, so its CPU competes with the cloud's on the same cores: the
 * ratio is a pessimistic figure for this machine, not what a remote store costs in latency.
 * The S3 run's processes also count their requests to the store (by role, method, object kind and
 * status, measured phase only), printed per image.
 * Usage: npm run bench -- storage-miss-path [copies=3]
 */
async function main(): Promise<void> {
  const copies = Number(process.argv[2] ?? 3);
  const cores = availableParallelism();
  const clients = cores * 4;
  const { origin, ...images } = await photoOrigin(copies);
  const { urls } = images;
  const s3 = await startTestS3Server('storage-miss-path');
  // The cluster's processes inherit these: the SDK's environment chain, as in production.
  process.env['AWS_ACCESS_KEY_ID'] = S3RVER_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = S3RVER_CREDENTIALS.secretAccessKey;
  const s3Storage = { kind: 's3', bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true };
  const countDir = await mkdtemp(join(tmpdir(), 'storage-miss-s3-requests-'));
  try {
    const run = (name: string, storage?: Record<string, unknown>) => systemMissPath(images, { jobsPerWorker: 1, clients, name, storage });
    const localBefore = await run('storage-miss-local');
    // Only the S3 run's processes count (they inherit the environment); restored before the local run.
    const saved = { ...process.env };
    Object.assign(process.env, s3RequestCountingEnv(countDir, s3.port));
    const s3Run = await run('storage-miss-s3', { ...s3Storage, prefix: 'miss-path/' }).finally(() => {
      for (const name of Object.keys(s3RequestCountingEnv(countDir, s3.port))) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    });
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
    const requests = s3RequestsBetween(countDir, s3Run.window!.fromUs, s3Run.window!.toUs);
    const rows: Array<Array<string | number>> = [];
    for (const [role, counts] of [...requests].sort((a, b) => a[0].localeCompare(b[0]))) {
      const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
      if (total === 0) continue;
      rows.push([role, 'all', total / urls.length]);
      for (const [kind, count] of [...counts].sort((a, b) => b[1] - a[1])) rows.push(['', kind, count / urls.length]);
    }
    printTable('S3 requests per image by process role (measured phase of the S3 run)', ['process role', 'request', 'per image'], rows);
  } finally {
    await rm(countDir, { recursive: true, force: true });
    await s3.close();
    await origin.close();
  }
}

runBenchmark(main);
