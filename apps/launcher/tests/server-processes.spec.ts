import { readFileSync, readdirSync } from 'node:fs';
import { httpGet, waitUntil } from '@image-cloud/testing';
import { type LaunchedCloud, launchCloud } from './launched-cloud';

/** `npm start` with server.processes = 2: two service-server processes answering on the one port. */

function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
/** The launcher's service-server children by PROCESS_INDEX. */
function serverPids(launcherPid: number): Map<string, number> {
  const servers = new Map<string, number>();
  for (const pid of childrenOf(launcherPid)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('service-server/main.js')) continue;
      const index = /(?:^|\0)PROCESS_INDEX=(\d+)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'))?.[1];
      if (index !== undefined) servers.set(index, pid);
    } catch {
      // ended while we looked
    }
  }
  return servers;
}

/** Each server's own count of the /healthz requests it answered, from /metrics (asked of whichever server gets the connection). */
async function healthzAnsweredBy(url: string): Promise<Map<string, number>> {
  const answer = await httpGet(`${url}/metrics`);
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  const counts = new Map<string, number>();
  for (const [, index, count] of answer.body.toString().matchAll(/^image_cloud_http_requests_total\{route="\/healthz",status="200",role="server",index="(\d+)"\} (\d+)$/gm)) {
    counts.set(index!, Number(count));
  }
  return counts;
}

describe('npm start with server.processes = 2', () => {
  let cloud: LaunchedCloud;

  beforeAll(async () => {
    cloud = await launchCloud('server-processes', { allowPrivateOrigins: ['127.0.0.0/8'], server: { processes: 2 } }, { processes: 1, bigProcesses: 0 });
  }, 90_000);
  afterAll(() => cloud?.stop());

  it('answers on the one port from both processes, keeps answering while one is killed, restarts it, and stops everything on SIGTERM', async () => {
    expect(cloud.output()).toContain('running: 2 server process(es) on port');
    // Both listen once both have said so (readiness only needs the first).
    expect(await waitUntil(() => (cloud.output().match(/"msg":"service server listening/g)?.length ?? 0) === 2, 30_000)).toBe(true);
    const before = serverPids(cloud.pid);
    expect([...before.keys()].sort()).toEqual(['0', '1']);
    expect(new Set(before.values()).size).toBe(2);

    // Connections of their own, dealt round-robin: each process answers some. /metrics, asked of
    // either, carries both processes' own counts (the sibling's over the launcher).
    for (let i = 0; i < 10; i++) expect((await httpGet(`${cloud.url}/healthz`)).status).toBe(200);
    const counted = await healthzAnsweredBy(cloud.url);
    expect(counted.get('0')).toBeGreaterThan(0);
    expect(counted.get('1')).toBeGreaterThan(0);
    expect(counted.get('0')! + counted.get('1')!).toBe(10);

    // kill -9 of one server: the sibling answers every connection until the victim is back.
    const victim = before.get('0')!;
    process.kill(victim, 'SIGKILL');
    expect(await waitUntil(() => cloud.output().includes('service-server-0 exited (SIGKILL); restarting'), 10_000)).toBe(true);
    const meanwhile = await Promise.all(Array.from({ length: 8 }, () => httpGet(`${cloud.url}/healthz`)));
    expect(meanwhile.map((answer) => answer.status)).toEqual(Array(8).fill(200));
    // Only the survivor was there to answer them.
    expect(serverPids(cloud.pid).has('0')).toBe(false);
    const survivorCount = (await healthzAnsweredBy(cloud.url)).get('1');
    expect(survivorCount).toBe(counted.get('1')! + 8);

    // The supervisor restarts it under the same index (its own S3 cache directory, its metrics label).
    expect(await waitUntil(() => (cloud.output().match(/"msg":"service server listening/g)?.length ?? 0) === 3, 30_000)).toBe(true);
    const after = serverPids(cloud.pid);
    expect(after.get('1')).toBe(before.get('1'));
    expect(after.get('0')).not.toBe(victim);
    expect(after.get('0')).toBeDefined();
    // The restarted one takes its turns again (two requests a round: connections alternate between
    // the processes, so with one the /metrics asks could take every one of its turns).
    expect(
      await waitUntil(async () => {
        for (let i = 0; i < 2; i++) await httpGet(`${cloud.url}/healthz`);
        return ((await healthzAnsweredBy(cloud.url)).get('0') ?? 0) > 0;
      }, 10_000),
    ).toBe(true);

    // SIGTERM: every server and worker stops, the launcher exits 0.
    const pids = [...after.values(), ...childrenOf(cloud.pid)];
    process.kill(cloud.pid, 'SIGTERM');
    expect(await cloud.exited).toBe(0);
    expect(pids.filter(isRunning)).toEqual([]);
    expect(cloud.output()).toContain('[launcher] stopped.');
  }, 120_000);
});
