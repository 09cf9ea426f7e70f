import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { startEmbeddedRedis } from '@image-cloud/local-cluster';
import { defineRedisScript } from '@image-cloud/redis-scripts';
import { TenantDirectory, TenantRateLimiter, signRequest, verifySignedRequest } from '@image-cloud/tenant-auth';
import { freePort } from '@image-cloud/testing';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * What authentication costs a hit, before and after plan item 5 of the README's "Hit path": the
 * limiter's take(), TenantDirectory.byToken and verifySignedRequest, each against the code it
 * replaced (kept below, in this file only, as the baseline), interleaved round by round in one run.
 * take() runs against a redis-server of the benchmark's own (INFO commandstats counts its calls
 * only; its CPU is read from /proc). Figures are medians over the rounds: µs of wall time per call
 * and, for take(), µs of this process's CPU (what a server process spends) and of Redis's CPU.
 * Usage: npm run bench -- tenant-auth [rounds=5]
 */

// ---- Baselines: the code before leases and memories, as it was --------------------------------

/** take-token-1.lua as it was: one script call per request. */
const OLD_TAKE_TOKEN_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, retry}
`;
const oldTakeToken = defineRedisScript<[number, number]>('benchOldTenantTakeToken', 1, OLD_TAKE_TOKEN_LUA, { flags: ['allow-oom'] });

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** TenantDirectory.byToken as it was: one digest, compared with every tenant's. */
function oldByToken(digests: Array<{ name: string; digest: Buffer }>, token: string): string | null {
  const candidate = sha256(token);
  let found: string | null = null;
  for (const entry of digests) if (timingSafeEqual(candidate, entry.digest) && !found) found = entry.name;
  return found;
}

function oldCanonicalRequest(path: string, params: Iterable<[string, string]>): string {
  const signed = [...params].filter(([name]) => name !== 'signature' && name !== 'token');
  signed.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return `${path}?${new URLSearchParams(signed).toString()}`;
}

/** verifySignedRequest as it was: the HMAC of the canonical request on every call. */
function oldVerifySignedRequest(path: string, params: Array<[string, string]>, keys: readonly string[], nowSeconds: number, maxLifetimeSeconds: number): boolean {
  const values = new Map<string, string[]>();
  for (const [name, value] of params) values.set(name, [...(values.get(name) ?? []), value]);
  const single = (name: string) => (values.get(name)?.length === 1 ? values.get(name)![0] : undefined);
  const signature = single('signature');
  const expires = single('expires');
  const tenant = single('tenant');
  if (!signature || !expires || !tenant) return false;
  if (!/^\d{1,12}$/.test(expires)) return false;
  if (Number(expires) < nowSeconds || Number(expires) > nowSeconds + maxLifetimeSeconds) return false;
  if (!/^[A-Za-z0-9_-]{43}$/.test(signature)) return false;
  const given = Buffer.from(signature, 'base64url');
  const text = oldCanonicalRequest(path, params);
  let valid = false;
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(text, 'utf8').digest();
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}

// ---- Measuring ---------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** CPU seconds a process used so far (Linux /proc, 10 ms resolution). */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function scriptCalls(redis: IORedis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) calls += Number(match[2]);
  return calls;
}

interface TakeRun {
  wallUs: number;
  cpuUs: number;
  redisCpuUs: number;
  scriptCalls: number;
  takes: number;
}

/** `takes` sequential take()s of one fresh tenant: per-take wall time, CPU here and in Redis, script calls. */
async function measureTakes(take: () => Promise<unknown>, takes: number, admin: IORedis, redisPid: number): Promise<TakeRun> {
  const callsBefore = await scriptCalls(admin);
  const redisCpuBefore = processCpuSeconds(redisPid);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < takes; i++) await take();
  const wallUs = ((performance.now() - started) * 1000) / takes;
  const cpu = process.cpuUsage(cpuBefore);
  const redisCpuUs = ((processCpuSeconds(redisPid) - redisCpuBefore) * 1e6) / takes;
  // INFO itself is one command, not a script call: nothing to subtract.
  return { wallUs, cpuUs: (cpu.user + cpu.system) / takes, redisCpuUs, scriptCalls: (await scriptCalls(admin)) - callsBefore, takes };
}

/** Wall µs per call of a synchronous `work(i)` over `calls` calls. */
function measureSync(work: (i: number) => unknown, calls: number): number {
  const started = performance.now();
  for (let i = 0; i < calls; i++) work(i);
  return ((performance.now() - started) * 1000) / calls;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const dir = await mkdtemp(join(tmpdir(), 'tenant-auth-bench-'));
  const embedded = await startEmbeddedRedis({ port: await freePort(), dataDir: dir });
  const redis = new IORedis(embedded.url, { maxRetriesPerRequest: 1 });
  const admin = new IORedis(embedded.url, { maxRetriesPerRequest: 1 });
  const prefix = 'bench-tenant-auth';
  try {
    const limiter = new TenantRateLimiter(redis, prefix);
    const redisPid = embedded.process.pid!;
    // Tenants whose bucket never empties during a round: every take is allowed, in both paths.
    const takeCases = [
      { label: 'take(), tenant 10 000/s burst 10 000 (lease ≤ 500)', rate: 10_000, burst: 10_000, takes: 5_000 },
      { label: 'take(), tenant 1 000/s burst 1 000 (lease ≤ 50)', rate: 1_000, burst: 1_000, takes: 900 },
    ];
    const takeRuns = takeCases.map(() => ({ old: [] as TakeRun[], leased: [] as TakeRun[] }));

    const tenantCounts = [10, 100];
    const directories = tenantCounts.map((count) => {
      const tenants = Object.fromEntries(Array.from({ length: count }, (_, i) => [`tenant-${i}`, { token: `token-${i}-${'x'.repeat(24)}`, requestsPerSecond: 100, burst: 100 }]));
      const tokens = Object.values(tenants).map((tenant) => tenant.token);
      return { count, tokens, directory: new TenantDirectory(tenants), digests: Object.entries(tenants).map(([name, tenant]) => ({ name, digest: sha256(tenant.token) })) };
    });
    const byTokenUs = directories.map(() => ({ old: [] as number[], after: [] as number[] }));

    const key = 'bench-signing-key-0123456789abcdef';
    const keys = [key];
    const nowSeconds = Math.floor(Date.now() / 1000);
    /** `count` signed get_image URLs as path and parameters, distinct per `expiresAt`. */
    const signedUrls = (count: number, expiresAt: number) =>
      Array.from({ length: count }, (_, i) => {
        const url = new URL(
          signRequest({ path: '/get_image', params: { url: `https://shop.example/products/${i}/photo.jpg`, resize_width: '500', resize_height: '500' }, tenant: 'shop', expiresAt, key }),
          'http://cloud',
        );
        return [url.pathname, [...url.searchParams]] as [string, Array<[string, string]>];
      });
    const [path, params] = signedUrls(1, nowSeconds + 3600)[0]!;
    const verifyUs = { oldRepeated: [] as number[], repeated: [] as number[], oldDistinct: [] as number[], firstSight: [] as number[] };
    const maxLifetime = 30 * 24 * 3600;

    // A warm-up round (JIT, script loading), then the measured ones, old and new interleaved.
    for (let round = -1; round < rounds; round++) {
      for (const [i, c] of takeCases.entries()) {
        const old = await measureTakes(() => oldTakeToken(redis, [`${prefix}:old:${round}:${i}`], [c.rate, c.burst]), c.takes, admin, redisPid);
        const leased = await measureTakes(() => limiter.take(`leased-${round}-${i}`, c.rate, c.burst), c.takes, admin, redisPid);
        if (round >= 0) {
          takeRuns[i]!.old.push(old);
          takeRuns[i]!.leased.push(leased);
        }
      }
      for (const [i, { tokens, directory, digests }] of directories.entries()) {
        const old = measureSync((n) => oldByToken(digests, tokens[n % tokens.length]!), 50_000);
        const after = measureSync((n) => directory.byToken(tokens[n % tokens.length]!), 50_000);
        if (round >= 0) {
          byTokenUs[i]!.old.push(old);
          byTokenUs[i]!.after.push(after);
        }
      }
      const oldRepeated = measureSync(() => oldVerifySignedRequest(path, params, keys, nowSeconds, maxLifetime), 20_000);
      const repeated = measureSync(() => verifySignedRequest(path, params, keys, nowSeconds, maxLifetime), 20_000);
      // Each round's URLs expire a second later than the last round's: new to the module's memory, every call misses.
      const fresh = signedUrls(20_000, nowSeconds + 3600 + round + 2);
      const oldDistinct = measureSync((n) => oldVerifySignedRequest(fresh[n]![0], fresh[n]![1], keys, nowSeconds, maxLifetime), fresh.length);
      const firstSight = measureSync((n) => verifySignedRequest(fresh[n]![0], fresh[n]![1], keys, nowSeconds, maxLifetime), fresh.length);
      if (round >= 0) {
        verifyUs.oldRepeated.push(oldRepeated);
        verifyUs.repeated.push(repeated);
        verifyUs.oldDistinct.push(oldDistinct);
        verifyUs.firstSight.push(firstSight);
      }
    }

    const perThousand = (runs: TakeRun[]) => median(runs.map((run) => (run.scriptCalls * 1000) / run.takes));
    const rows: Array<Array<string | number>> = [];
    for (const [i, c] of takeCases.entries()) {
      const { old, leased } = takeRuns[i]!;
      const oldWall = median(old.map((run) => run.wallUs));
      const oldCpu = median(old.map((run) => run.cpuUs));
      rows.push([`${c.label}: one EVALSHA per take (baseline)`, oldWall, oldCpu, median(old.map((run) => run.redisCpuUs)), perThousand(old), 1, 1]);
      const wall = median(leased.map((run) => run.wallUs));
      const cpu = median(leased.map((run) => run.cpuUs));
      rows.push([`${c.label}: leased`, wall, cpu, median(leased.map((run) => run.redisCpuUs)), perThousand(leased), wall / oldWall, cpu / oldCpu]);
    }
    for (const [i, { count }] of directories.entries()) {
      const old = median(byTokenUs[i]!.old);
      const after = median(byTokenUs[i]!.after);
      rows.push([`byToken, ${count} tenants: every digest compared (baseline)`, old, old, '', '', 1, 1]);
      rows.push([`byToken, ${count} tenants: Map by digest`, after, after, '', '', after / old, after / old]);
    }
    const verifyRows: Array<[string, number[], number[]]> = [
      ['verifySignedRequest, one URL again and again', verifyUs.oldRepeated, verifyUs.repeated],
      ['verifySignedRequest, 20 000 distinct URLs, each new (HMAC + remembering)', verifyUs.oldDistinct, verifyUs.firstSight],
    ];
    for (const [label, oldRuns, newRuns] of verifyRows) {
      const old = median(oldRuns);
      const after = median(newRuns);
      rows.push([`${label}: HMAC every call (baseline)`, old, old, '', '', 1, 1]);
      rows.push([`${label}: remembered signatures`, after, after, '', '', after / old, after / old]);
    }
    printTable(
      `Authentication per hit, medians of ${rounds} rounds, before (baseline) and after in the same run (sync calls: CPU = wall)`,
      ['operation', 'µs per call', 'CPU µs here', 'Redis CPU µs', 'Redis calls per 1 000', 'ratio (wall)', 'ratio (CPU here)'],
      rows,
    );
  } finally {
    redis.disconnect();
    admin.disconnect();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

runBenchmark(main);
