import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { signRequest } from '@image-cloud/tenant-auth';
import { startOriginServer } from '@image-cloud/testing';
import { startCluster } from './lib/cluster';
import { cpuSecondsOf } from './lib/cpu-accounting';
import { type FunctionSelfTime, selfTimes } from './lib/cpu-profile';
import { runBenchmark } from './lib/run-benchmark';
import { isBareNodeServerWorker, serveBareNodeRequests, startBareNodeServer, startNginx } from './lib/static-servers';
import { printTable } from './lib/table';
import { type WrkResult, hasCommand, runWrk } from './lib/wrk';

/**
 * The hit path against static serving, same run (issue 11): one cached ~30 KB JPEG variant of a
 * loopback origin, asked over and over with wrk (2 threads, 32 keep-alive connections), from
 * - nginx serving the same bytes from a file (the baseline; measured before and after, averaged),
 * - a bare node:http server, one process per core, answering from memory / streaming the file,
 * - the cloud as `npm start` runs it (a server process per core sharing the port, `server.processes`):
 *   get_image in open mode, with a tenant's bearer token, and as a signed URL; and open mode again
 *   with one server process, for what the processes per core bring.
 * With --profile it then runs the cloud's cases again with the first server process (PROCESS_INDEX
 * 0; its siblings run unprofiled) under `node --cpu-prof` and `strace -c`, and prints where a hit's
 * CPU goes in that process, by area, in µs per request it answered, and its syscalls.
 * Usage: npm run bench -- hit-path [seconds=10] [--profile]
 */

const WRK = { threads: 2, connections: 32 };
const RESIZE = { resize_width: '500', resize_height: '500' };
const TENANT = 'hit-path-bench';
const TOKEN = 'hit-path-bench-token-0123456789';
const SIGNING_KEY = 'hit-path-bench-signing-key-0123456789';

interface CloudCase {
  label: string;
  path: string;
  headers?: Record<string, string>;
}

interface CloudProfile {
  functions: FunctionSelfTime[];
  requests: number;
  windowUs: number;
  /** Syscalls of the server process per request (strace -c -f over a run of its own), by name. */
  syscalls: Array<[string, number]>;
}

interface CloudMeasurement {
  label: string;
  wrk: WrkResult;
  /** CPU seconds the server processes used during the measured run (all of them, from /proc). */
  serverCpuSeconds: number;
  profile?: CloudProfile;
}

/** A photo-like original (blurred noise, 1600×1200) whose 500-px JPEG variant is about 30 KB. */
async function originalPhoto(): Promise<Buffer> {
  return sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 120, g: 140, b: 160 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .blur(1)
    .jpeg({ quality: 90 })
    .toBuffer();
}

const hrtimeUs = () => Number(process.hrtime.bigint() / 1000n);

/** The get_image hits the profiled server process (PROCESS_INDEX 0) has answered so far, by its own counter in /metrics. */
async function hitsAnsweredByProfiled(clusterUrl: string): Promise<number> {
  const text = await (await fetch(`${clusterUrl}/metrics`)).text();
  const count = /^image_cloud_http_requests_total\{route="\/get_image",status="200",role="server",index="0"\} (\d+)$/m.exec(text)?.[1];
  if (count === undefined) throw new Error('/metrics shows no get_image answers of server process 0');
  return Number(count);
}

/** Syscalls per request of server process `pid` during a short wrk run, counted by strace (which slows it: only the counts matter). */
async function syscallsPerRequest(pid: number, clusterUrl: string, url: string, headers: Record<string, string> | undefined, dir: string): Promise<Array<[string, number]>> {
  if (!(await hasCommand('strace'))) return [];
  const output = join(dir, `strace-${pid}-${Date.now()}.txt`);
  const strace: ChildProcess = spawn('strace', ['-qq', '-f', '-c', '-o', output, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = once(strace, 'exit');
  await sleep(1000);
  if (strace.exitCode !== null) throw new Error(`strace could not attach to the server (exit ${strace.exitCode})`);
  const answeredBefore = await hitsAnsweredByProfiled(clusterUrl);
  await runWrk(url, { ...WRK, seconds: 3, headers });
  const answered = (await hitsAnsweredByProfiled(clusterUrl)) - answeredBefore;
  strace.kill('SIGINT');
  await exited;
  const rows: Array<[string, number]> = [];
  for (const line of (await readFile(output, 'utf8')).split('\n')) {
    // % time, seconds, usecs/call, calls, [errors], syscall
    const match = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (match && match[2] !== 'total') rows.push([match[2], Number(match[1]) / answered]);
  }
  return rows.sort((a, b) => b[1] - a[1]);
}

/**
 * Starts the cloud with `config`, fills the cache with the variant once (the first request is a
 * miss a worker renders), then measures every case with wrk after a short unmeasured warm-up.
 */
async function measureCloud(
  name: string,
  config: Record<string, unknown>,
  cases: CloudCase[],
  options: { seconds: number; serverProcesses: number; expectBytes?: Buffer; profileDir?: string },
): Promise<{ measurements: CloudMeasurement[]; bytes: Buffer }> {
  const previousArgs = process.env['BENCH_SERVER_NODE_ARGS'];
  if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
  if (options.profileDir) process.env['BENCH_SERVER_NODE_ARGS'] = `--cpu-prof --cpu-prof-dir=${options.profileDir}`;
  const cluster = await startCluster({ name, config, serverProcesses: options.serverProcesses, normalWorkers: 1, bigWorkers: 0 });
  if (previousArgs === undefined) delete process.env['BENCH_SERVER_NODE_ARGS'];
  else process.env['BENCH_SERVER_NODE_ARGS'] = previousArgs;
  const windows: Array<{ from: number; to: number; requests: number; syscalls: Array<[string, number]> }> = [];
  const measurements: CloudMeasurement[] = [];
  let bytes = Buffer.alloc(0);
  try {
    for (const [i, cloudCase] of cases.entries()) {
      const response = await fetch(`${cluster.url}${cloudCase.path}`, { headers: cloudCase.headers });
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status !== 200) throw new Error(`${cloudCase.label}: warming answered ${response.status} ${body.toString().slice(0, 300)}`);
      if (i === 0) bytes = body;
      const expected = options.expectBytes ?? bytes;
      if (!body.equals(expected)) throw new Error(`${cloudCase.label}: answered other bytes (${body.length} B) than the baseline serves (${expected.length} B)`);
    }
    for (const cloudCase of cases) {
      const url = `${cluster.url}${cloudCase.path}`;
      await runWrk(url, { ...WRK, seconds: 2, headers: cloudCase.headers });
      const profiledBefore = options.profileDir ? await hitsAnsweredByProfiled(cluster.url) : 0;
      const cpuBefore = cpuSecondsOf(cluster.serverPids);
      const from = hrtimeUs();
      const wrk = await runWrk(url, { ...WRK, seconds: options.seconds, headers: cloudCase.headers });
      const to = hrtimeUs();
      const serverCpuSeconds = cpuSecondsOf(cluster.serverPids) - cpuBefore;
      if (wrk.errors > 0) throw new Error(`${cloudCase.label}: ${wrk.errors} of ${wrk.requests} answers were errors`);
      measurements.push({ label: cloudCase.label, wrk, serverCpuSeconds });
      if (options.profileDir) {
        console.log(`${cloudCase.label}: counting syscalls with strace`);
        // Per request of the profiled process: the hits it answered, not all wrk got from every process.
        const requests = (await hitsAnsweredByProfiled(cluster.url)) - profiledBefore;
        const syscalls = await syscallsPerRequest(cluster.serverPids[0]!, cluster.url, url, cloudCase.headers, options.profileDir);
        windows.push({ from, to, requests, syscalls });
      }
    }
  } finally {
    await cluster.stop();
  }
  if (options.profileDir) {
    console.log(`${name}: reading the server's CPU profile`);
    const profiles = (await readdir(options.profileDir)).filter((file) => file.endsWith('.cpuprofile'));
    if (profiles.length !== 1) throw new Error(`expected the profiled server process's one .cpuprofile in ${options.profileDir}, found ${profiles.length}`);
    windows.forEach((window, i) => {
      const { functions, windowUs } = selfTimes(join(options.profileDir!, profiles[0]), window.from, window.to);
      measurements[i].profile = { functions, requests: window.requests, windowUs, syscalls: window.syscalls };
    });
  }
  return { measurements, bytes };
}

function printProfile(label: string, profile: CloudProfile): void {
  const perRequest = (us: number) => us / profile.requests;
  const busy = profile.functions.filter((f) => f.area !== 'idle (waiting for I/O)');
  const busyUs = busy.reduce((sum, f) => sum + f.selfUs, 0);
  const areas = new Map<string, FunctionSelfTime[]>();
  for (const f of busy) areas.set(f.area, [...(areas.get(f.area) ?? []), f]);
  const rows = [...areas]
    .map(([area, functions]) => ({ area, selfUs: functions.reduce((sum, f) => sum + f.selfUs, 0), top: functions.slice(0, 3) }))
    .sort((a, b) => b.selfUs - a.selfUs)
    .map((row): Array<string | number> => [row.area, perRequest(row.selfUs), `${Math.round((100 * row.selfUs) / busyUs)}%`, row.top.map((f) => `${f.name} ${perRequest(f.selfUs).toFixed(1)}`).join(', ')]);
  rows.push(['total on the server\'s main thread', perRequest(busyUs), '100%', `${((100 * busyUs) / profile.windowUs).toFixed(0)}% of the ${(profile.windowUs / 1e6).toFixed(1)} s busy`]);
  printTable(`Where a hit's CPU goes, ${label}: self time of server process 0 by area, µs per request it answered (${profile.requests} requests under node --cpu-prof)`, ['area', 'µs/request', 'share', 'top functions (µs/request)'], rows);
  printTable(
    `Top functions, ${label} (self time, µs per request)`,
    ['function', 'source', 'area', 'µs/request'],
    busy.slice(0, 25).map((f): Array<string | number> => [f.name, f.source, f.area, perRequest(f.selfUs)]),
  );
  if (profile.syscalls.length > 0) {
    printTable(`Syscalls of server process 0 per request it answered, ${label} (strace -c -f, a 3 s run of its own)`, ['syscall', 'per request'], profile.syscalls.filter(([, n]) => n >= 0.05).map(([name, n]): Array<string | number> => [name, n]));
  }
}

async function main(): Promise<void> {
  if (!(await hasCommand('wrk')) || !(await hasCommand('nginx'))) {
    console.log('hit-path: skipped, it needs wrk and nginx on PATH (Debian: apt-get install -y wrk nginx)');
    return;
  }
  const seconds = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 10);
  const profile = process.argv.includes('--profile');
  const cores = availableParallelism();
  const dir = await mkdtemp(join(tmpdir(), 'bench-hit-path-'));
  const origin = await startOriginServer();
  try {
    origin.serveBytes('photo.jpg', await originalPhoto(), 'image/jpeg');
    const params = { url: origin.url('/bytes/photo.jpg'), ...RESIZE };
    const query = new URLSearchParams(params).toString();
    const openConfig = { allowPrivateOrigins: ['127.0.0.0/8'] };
    const tenantConfig = { ...openConfig, tenants: { [TENANT]: { token: TOKEN, requestsPerSecond: 1e9, burst: 1e9 } }, signingKeys: [SIGNING_KEY] };
    const openCases: CloudCase[] = [{ label: 'cloud get_image, open mode', path: `/get_image?${query}` }];
    const tenantCases = (): CloudCase[] => [
      { label: 'cloud get_image, tenant bearer token', path: `/get_image?${query}`, headers: { Authorization: `Bearer ${TOKEN}` } },
      { label: 'cloud get_image, signed URL', path: signRequest({ path: '/get_image', params, tenant: TENANT, expiresAt: Math.floor(Date.now() / 1000) + 3600, key: SIGNING_KEY }) },
    ];

    // As `npm start` runs them by default: server.processes = the number of cores.
    const servers = cores;
    const open = await measureCloud('hit-path-open', openConfig, openCases, { seconds, serverProcesses: servers });
    const bytes = open.bytes;
    const file = join(dir, 'variant.jpg');
    await writeFile(file, bytes);

    const measureStatic = async (start: () => Promise<{ url: string; stop(): Promise<void> }>): Promise<WrkResult> => {
      const server = await start();
      try {
        await runWrk(server.url, { ...WRK, seconds: 2 });
        return await runWrk(server.url, { ...WRK, seconds });
      } finally {
        await server.stop();
      }
    };
    const nginxBefore = await measureStatic(() => startNginx(join(dir, 'nginx-before'), bytes, cores));
    const bareMemory = await measureStatic(() => startBareNodeServer(file, 'memory', cores));
    const bareDisk = await measureStatic(() => startBareNodeServer(file, 'disk', cores));
    const tenant = await measureCloud('hit-path-tenant', tenantConfig, tenantCases(), { seconds, serverProcesses: servers, expectBytes: bytes });
    // What the server processes per core bring, in this same run: open mode with one server process.
    const openAlone = await measureCloud('hit-path-open-1', openConfig, openCases, { seconds, serverProcesses: 1, expectBytes: bytes });
    const nginxAfter = await measureStatic(() => startNginx(join(dir, 'nginx-after'), bytes, cores));
    const nginx = (nginxBefore.perSecond + nginxAfter.perSecond) / 2;

    const row = (label: string, m: WrkResult): Array<string | number> => [label, m.perSecond, m.p50Ms, m.p99Ms, m.errors, m.perSecond / nginx, '', ''];
    // CPU per hit does not depend on how much of the shared cores the neighbours leave; cores busy shows what the servers got.
    const cloudRow = (label: string, m: CloudMeasurement): Array<string | number> => [
      ...row(label, m.wrk).slice(0, 6),
      (m.serverCpuSeconds * 1e6) / m.wrk.requests,
      m.serverCpuSeconds / seconds,
    ];
    printTable(
      `Hit path: one ${(bytes.length / 1000).toFixed(1)} KB JPEG variant, wrk -t${WRK.threads} -c${WRK.connections} -d${seconds}s, ${cores} cores shared by everything (nginx = mean of before and after; absolute numbers are noisy, compare ratios)`,
      ['run', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs nginx', 'server CPU µs/req', 'server cores busy'],
      [
        row(`nginx, file (sendfile), ${cores} workers (before)`, nginxBefore),
        row(`bare node:http, ${cores} processes, from memory`, bareMemory),
        row(`bare node:http, ${cores} processes, file streamed from disk`, bareDisk),
        ...[...open.measurements, ...tenant.measurements].map((m) => cloudRow(`${m.label} (${servers} server processes)`, m)),
        ...openAlone.measurements.map((m) => cloudRow(`${m.label} (1 server process)`, m)),
        row(`nginx, file (sendfile), ${cores} workers (after)`, nginxAfter),
      ],
    );
    for (const m of [...open.measurements, ...tenant.measurements]) console.log(`ratio (${m.label} / nginx) = ${(m.wrk.perSecond / nginx).toFixed(3)}  (target ≥ 0.25)`);
    console.log(`open mode, ${servers} server processes / 1 server process = ${(open.measurements[0]!.wrk.perSecond / openAlone.measurements[0]!.wrk.perSecond).toFixed(2)}`);

    if (profile) {
      const profiled = { seconds, serverProcesses: servers, expectBytes: bytes };
      const openProfiled = await measureCloud('hit-path-open-prof', openConfig, openCases, { ...profiled, profileDir: join(dir, 'profile-open') });
      const tenantProfiled = await measureCloud('hit-path-tenant-prof', tenantConfig, tenantCases(), { ...profiled, profileDir: join(dir, 'profile-tenant') });
      for (const m of [...openProfiled.measurements, ...tenantProfiled.measurements]) {
        console.log(`\n${m.label} under the profiler (server process 0 of ${servers} profiled): ${m.wrk.perSecond.toFixed(0)} req/s, ${m.profile!.requests} of ${m.wrk.requests} answered by process 0`);
        printProfile(m.label, m.profile!);
      }
    }
  } finally {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isBareNodeServerWorker()) serveBareNodeRequests();
else runBenchmark(main);
