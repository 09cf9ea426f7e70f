import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DIST_DIR } from '@image-cloud/testing';

/** Where each counting process leaves its counts, see s3-request-count.cjs. */
interface CountFile {
  role: string;
  /** 100 ms buckets of the monotonic clock → "<method> <kind> <status>" → requests. */
  buckets: Record<string, Record<string, number>>;
}

const PRELOAD = resolve(DIST_DIR, '..', 'bench', 'lib', 's3-request-count.cjs');

/**
 * Environment for cluster processes that should count their requests to the S3 server on `port`
 * into `dir` (node's HTTP client diagnostics channel: the requests themselves are untouched).
 */
export function s3RequestCountingEnv(dir: string, port: number): Record<string, string> {
  return { NODE_OPTIONS: `--require ${PRELOAD}`, S3_REQUEST_COUNT_DIR: dir, S3_REQUEST_COUNT_PORT: String(port) };
}

/** Requests by role and "<method> <kind> <status>" between `fromUs` and `toUs` (process.hrtime µs), from every process that has exited. */
export function s3RequestsBetween(dir: string, fromUs: number, toUs: number): Map<string, Map<string, number>> {
  const byRole = new Map<string, Map<string, number>>();
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.json'))) {
    const { role, buckets } = JSON.parse(readFileSync(join(dir, name), 'utf8')) as CountFile;
    const counts = byRole.get(role) ?? new Map<string, number>();
    for (const [bucket, requests] of Object.entries(buckets)) {
      const atUs = Number(bucket) * 100_000;
      if (atUs < fromUs || atUs >= toUs) continue;
      for (const [kind, count] of Object.entries(requests)) counts.set(kind, (counts.get(kind) ?? 0) + count);
    }
    byRole.set(role, counts);
  }
  return byRole;
}
