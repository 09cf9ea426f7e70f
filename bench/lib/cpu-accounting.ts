import { readFileSync, readdirSync } from 'node:fs';

/** Linux reports process CPU time in clock ticks of 1/100 s. */
const TICKS_PER_SECOND = 100;

function processes(): Array<{ pid: number; parent: number; args: string; seconds: number }> {
  const list: Array<{ pid: number; parent: number; args: string; seconds: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command name.
      list.push({ pid: Number(entry), parent: Number(fields[1]), args, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // the process ended while we looked
    }
  }
  return list;
}

/** CPU seconds `pids` have used so far, together (a process that ended counts nothing). */
export function cpuSecondsOf(pids: number[]): number {
  const wanted = new Set(pids);
  return processes()
    .filter(({ pid }) => wanted.has(pid))
    .reduce((sum, { seconds }) => sum + seconds, 0);
}

/** The bench forks its direct-server baseline from its own script; they differ by environment. */
function isDirectServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').some((entry) => entry.startsWith('DIRECT_SERVER_PORT='));
  } catch {
    return false;
  }
}

/** CPU seconds used so far by every process on the machine, by pid, with a role from its command line. */
function snapshot(): Map<number, { role: string; seconds: number }> {
  const result = new Map<number, { role: string; seconds: number }>();
  const all = processes();
  // Only this benchmark's own process tree counts: on a shared machine other people's servers,
  // workers and S3 stores run under the same names. Redis is the machine's shared one either way.
  const parentOf = new Map(all.map(({ pid, parent }) => [pid, parent]));
  const ours = (pid: number): boolean => {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = parentOf.get(at)) if (at === process.pid) return true;
    return false;
  };
  for (const { pid, args, seconds } of all) {
    const role = args.includes('render-child')
      ? 'render children'
      : args.includes('image-worker')
        ? 'worker parents (queue, I/O)'
        : args.includes('service-server')
          ? 'service-server'
          : args.includes('redis-server')
            ? 'redis-server'
            : args.includes('s3rver-child')
              ? 's3rver (the test S3 store)'
              : args.includes('dist/bench/')
                ? isDirectServer(pid)
                  ? 'direct server processes'
                  : 'load generator (this process)'
                : null;
    if (role && (role === 'redis-server' || ours(pid))) result.set(pid, { role, seconds });
  }
  return result;
}

/** Measures CPU seconds per process role while `work` runs (Linux /proc, 10 ms resolution). */
export async function cpuByRole<T>(work: () => Promise<T>): Promise<{ result: T; cpu: Map<string, number> }> {
  const before = snapshot();
  const result = await work();
  const after = snapshot();
  const cpu = new Map<string, number>();
  for (const [pid, { role, seconds }] of after) {
    const used = seconds - (before.get(pid)?.seconds ?? 0);
    cpu.set(role, (cpu.get(role) ?? 0) + used);
  }
  return { result, cpu };
}
